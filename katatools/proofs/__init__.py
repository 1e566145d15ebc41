"""The maintainer's tools: the tests of the tests, proving that the kata suites catch what they must.

- ``prove_stubs``: the generated stubs fail every test;
- ``mutants``: every hand-written learner mistake (``mistakes/``, read by the core's ``mistakes``)
  fails a test of its exercise;
- ``corpus``: every alternative solution passes and every cheat fails (``alternatives/``);
- ``independence``: each exercise's tests need no later exercise;
- ``mutation``: mutmut's report on the reference.

May import: the core (the top of ``katatools``) and this subpackage, never ``grading``. Two
exceptions, because the proofs run each entry the way a learner's check runs it: ``corpus`` and
``independence`` import ``learner.check`` (its per-test limits and run budget), and ``runs`` (the
proofs' runs, forked from one warm process) imports ``learner.worker``.
"""
