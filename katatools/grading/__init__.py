"""The instructor's tools: grading a class's submissions and the bundles that do it elsewhere.

- ``grade``: the grader (one fresh ``workspace`` per run, the reference taken in by ``isolation``,
  the ``sandbox`` around each run, the ``review`` of ready-made code), from ``submissions`` to the
  ``gradebook`` and the class report (``classreport``);
- ``gradescope``, ``classroom`` (GitHub Classroom), ``classroom50`` (with the bundle's entry
  point ``classroom50_autograder``, which imports nothing of katatools): the same grader on each
  platform;
- ``release``: the learner's edition of the repository.

May import: the core (the top of ``katatools``) and this subpackage, never ``learner`` or
``proofs``. What a graded run itself loads is the plugin's closure in the core
(``workspace.plugin_modules``), never this subpackage.
"""
