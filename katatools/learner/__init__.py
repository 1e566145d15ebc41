"""The learner's tools: what someone working through the katas runs on their own clone.

- ``check``: every exercise's verdict, reusing the passes whose files have not changed
  (``verdicts``), run from a warm, forked worker (``worker``);
- ``watch``: the verdict of the exercise being edited, again at every save;
- ``reset``: an exercise's stub back in katas/;
- ``demo``: the finished katas fitting the post's data.

May import: the core (the top of ``katatools``) and this subpackage, never ``grading`` or
``proofs``. A learner's edition ships this subpackage with the core; the grader never reads it
(a learner's ``.kata-cache`` is theirs to edit).
"""
