"""The kata tests run through katatools/plugin.py, loaded by `-p katatools.plugin` in pyproject.toml.

It provides the --target/--exercise/--mode options, the `exercise` marker and the `kata` fixture.
"""
