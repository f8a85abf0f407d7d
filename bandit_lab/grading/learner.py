"""``grader.check("q1")`` for a learner: a question's public tests, run in the notebook.

Each exercise's set-up cell makes ``grader = Notebook("ex01_beta_update.ipynb")``. The
public tests live in that notebook's metadata (otter-grader's format), so the file is all a
learner needs. The checks run with the same code the instructor's grader runs
(:func:`bandit_lab.grading.kernel_side.run_cases`), so the learner reads the same sentences
the grade report will hold: what is wrong, never the test's source line; "q2 is not
answered yet" for a blank answer. Passing and failing read in words and in colour.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

from .kernel_side import run_cases
from .keys import parse_tests

__all__ = ["Notebook", "CheckResult"]

_GREEN, _RED, _GREY = "#1a7f37", "#b3261e", "#57606a"


class CheckResult:
    """What ``grader.check`` shows: the question, passed or not, and why."""

    def __init__(self, question, results):
        self.question = question
        self.results = results
        self.passed = bool(results) and all(r["passed"] for r in results)
        kinds = {r["kind"] for r in results}
        self.blank = not self.passed and "blank" in kinds and kinds <= {"blank", "undefined"}

    @property
    def messages(self):
        seen = []
        for r in self.results:
            if not r["passed"] and r["message"] not in seen:
                seen.append(r["message"])
        return seen

    def headline(self):
        n = len(self.results)
        if self.passed:
            return f"{self.question}: PASSED all {n} public test{'s' if n != 1 else ''}"
        if self.blank:
            return f"{self.question}: NOT ANSWERED YET"
        failed = sum(not r["passed"] for r in self.results)
        return (
            f"{self.question}: NOT YET: {failed} of {n} public test{'s' if n != 1 else ''} failed"
        )

    def __repr__(self):
        lines = [self.headline()]
        if self.blank:
            lines.append(
                f"  {self.question} is not answered yet: replace the `...` with your "
                "answer and run its cell, then this one."
            )
        else:
            lines += [f"  - {m}" for m in self.messages]
        return "\n".join(lines)

    def _repr_html_(self):
        colour = _GREEN if self.passed else (_GREY if self.blank else _RED)
        mark = "&#10003;" if self.passed else ("&#8230;" if self.blank else "&#10007;")
        head = (
            f'<p style="margin:0.2em 0"><span style="color:{colour};font-weight:bold">'
            f"{mark} {html.escape(self.headline())}</span></p>"
        )
        if self.blank:
            body = [
                f"{self.question} is not answered yet: replace the <code>...</code> with "
                "your answer and run its cell, then this one."
            ]
        else:
            body = [re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(m)) for m in self.messages]
        items = "".join(
            f'<li style="color:{colour if self.blank else "inherit"}">{b}</li>' for b in body
        )
        return head + (f'<ul style="margin:0.2em 0">{items}</ul>' if items else "")


class Notebook:
    """The ``grader`` object of an exercise notebook."""

    def __init__(self, nb_path=None, tests_dir=None):
        self.nb_path = nb_path

    def _tests(self):
        path = Path(self.nb_path) if self.nb_path else None
        if path is None or not path.exists():
            raise FileNotFoundError(
                f"grader.check reads the tests from {self.nb_path!r}, which is not in "
                f"{Path.cwd()}: keep the exercise's original file name (or rename it back), "
                "and run the notebook from its own folder."
            )
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        tests = meta.get("otter", {}).get("tests", {})
        if not tests:
            raise ValueError(
                f"{path.name} carries no tests in its metadata: is it an "
                "exercise notebook from exercises/?"
            )
        return tests

    def check(self, question, global_env=None):
        """Run ``question``'s public tests against the notebook's variables."""
        tests = self._tests()
        if question not in tests:
            raise ValueError(f"question == {question!r}, must be one of {sorted(tests)}.")
        env = global_env if global_env is not None else _caller_namespace()
        cases = [c.payload() for c in parse_tests(tests[question], question) if not c.hidden]
        return CheckResult(question, run_cases(cases, env, timeout=60))

    def check_all(self, global_env=None):
        """Every question's public tests, one result each."""
        env = global_env if global_env is not None else _caller_namespace()
        return [self.check(q, env) for q in self._tests()]


def _caller_namespace():
    ip = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if ip is not None:
        return ip.user_ns
    return sys._getframe(2).f_globals
