"""Tooling for the autodiff katas: the manifest, the pytest plugin, and the learner/instructor tools.

Everything here reads the exercise list from ``exercises.toml`` through :mod:`katatools.manifest`.
"""
