"""Tooling for the autodiff katas, arranged by who it serves.

The core, at the top, is shared by everyone and imports no subpackage:

- ``manifest``: the exercise list, ``exercises.toml``;
- ``plugin``: the pytest plugin every kata run loads (``-p katatools.plugin``), with ``report``
  (its results file and verdict lines), ``packages`` (the kata package under test), ``guard``
  (the grading guard where no sandbox starts) and ``parsing``;
- ``stubs``: the stubs in katas/, generated from the marked reference;
- ``runner``: a child pytest and its results;
- ``patching`` and ``mistakes``: find/replace patches, and the mistake corpus made of them.

Three subpackages, each importing the core and itself only (exceptions are named in their
docstrings and in tooling_tests/test_layout.py):

- ``learner``: check, watch, reset, demo: the learner's own clone;
- ``grading``: the grader, Gradescope, GitHub Classroom, Classroom 50, the learner's edition:
  the instructor;
- ``proofs``: prove-stubs, mutants, the corpus, independence, mutation: the maintainer.

``python -m katatools COMMAND`` (``__main__``) reaches all of them.
"""

import os

# The kata tests multiply small matrices, where BLAS threads only fight each other and every other
# process: on a busy 2-core machine a threaded (31, 30) @ (30, 569) product took 3x longer. One
# thread, for this process and the pytest runs it starts, set before numpy is first imported (the
# plugin, katatools.plugin, loads before any test module); a value set in the environment wins.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")
