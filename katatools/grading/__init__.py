"""The instructor's tools: grading a class's submissions and the bundles that do it elsewhere.

- ``grade``: the grader, from ``submissions`` to the ``gradebook`` and the class report
  (``classreport``). Its parts: ``reference_runs`` (the tests to expect and scikit-learn's answers,
  from the grader's own runs), ``children`` (one child pytest on a fresh ``workspace``, in the
  ``sandbox``), ``isolation`` (which reference modules a run takes in), ``scoring`` (a run's
  results to a stage's outcome) and ``review`` (flags for ready-made code);
- ``gradescope``, ``classroom`` (GitHub Classroom), ``classroom50`` (with the bundle's entry
  point ``classroom50_autograder``, which imports nothing of katatools): the same grader on each
  platform;
- ``release``: the learner's edition of the repository.

May import: the core (the top of ``katatools``) and this subpackage, never ``learner`` or
``proofs``. What a graded run itself loads is the plugin's closure in the core
(``workspace.plugin_modules``), never this subpackage.
"""
