"""Graded exercises: instant feedback for a learner, sandboxed batch grading for an instructor.

Taught in exercises/ (nine notebooks); the instructor's guide is docs/instructors.md.

Three users, three entry points:

    grader.check("q1")                      a learner, inside an exercise: the question's
                                            public tests, in words (``learner``)
    bandit-lab grade SUBMISSIONS... --course DIR --out grades.csv
                                            an instructor: every notebook in its own sandbox,
                                            graded with the public *and* hidden tests; one
                                            CSV row per student (``command``, ``batch``)
    python -m bandit_lab.grading assign [--check]
                                            a maintainer: regenerate exercises/ and
                                            solutions/ from the masters in exercises_src/
                                            (``assign``)

The parts: ``keys`` (the tests, read from a course folder), ``submissions`` (finding, reading
and recognising notebooks), ``sandbox`` (the bubblewrap command line and the limits),
``kernel`` (one kernel process in its sandbox, watched from outside), ``kernel_side`` (what
runs inside the kernel: the runner captured before any learner cell), ``runner`` (one
notebook: cells, restarts, tests), ``results`` (checking what a kernel sends back), ``batch``
(many notebooks, through the package's executor option), ``gradebook`` (the grade sheet and
reports), ``command`` (``bandit-lab grade``), ``assign`` (maintainers), ``learner``
(``grader.check``).
"""

from .assign import assign
from .batch import grade_many, grade_notebook_file
from .command import main
from .gradebook import GradeResult, format_summary, gradebook, write_csv, write_feedback
from .keys import ExerciseKey, TestCase, course_folders, load_keys, parse_tests
from .runner import CELL_TIMEOUT, DEADLINE, TEST_TIMEOUT, Settings
from .sandbox import Limits, SandboxUnavailable, sandbox_problem
from .submissions import Submission, find_submissions

__all__ = [
    "ExerciseKey",
    "TestCase",
    "Submission",
    "GradeResult",
    "Limits",
    "Settings",
    "SandboxUnavailable",
    "assign",
    "load_keys",
    "parse_tests",
    "course_folders",
    "find_submissions",
    "grade_notebook_file",
    "grade_many",
    "gradebook",
    "write_csv",
    "write_feedback",
    "format_summary",
    "sandbox_problem",
    "main",
    "CELL_TIMEOUT",
    "TEST_TIMEOUT",
    "DEADLINE",
]
