"""Tooling for the autodiff katas: the manifest, the pytest plugin, and the learner/instructor tools.

Everything here reads the exercise list from ``exercises.toml`` through :mod:`katatools.manifest`.
"""

import os

# The kata tests multiply small matrices, where BLAS threads only fight each other and every other
# process: on a busy 2-core machine a threaded (31, 30) @ (30, 569) product took 3x longer. One
# thread, for this process and the pytest runs it starts, set before numpy is first imported (the
# plugin, katatools.plugin, loads before any test module); a value set in the environment wins.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")
