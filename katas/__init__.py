"""Your autodiff katas. Work through the modules in order: variable, primitives, losses, training.

Run ``nox -s check`` (or plain ``pytest``) to see which exercise to do next.
"""
