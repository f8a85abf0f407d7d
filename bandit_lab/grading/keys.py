"""What a submission is graded against: the key of each exercise, read from a course folder.

A *course folder* holds ``solutions/`` (the solution notebooks: their metadata carries every
question's public and hidden tests) and ``exercises/`` (the notebooks as handed out, whose
cell ids tell deleted and moved cells apart). Nothing here looks inside the installed
package: the instructor names the folder.

The tests are otter-grader test files (exception format): one function per test case,
decorated with ``@test_case(points=..., hidden=...)``, whose parameters are names from the
learner's notebook. They are parsed here, in the grader, with :mod:`ast`; no test file is
executed outside the kernel that grades a submission.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ExerciseKey", "TestCase", "parse_tests", "load_keys", "course_folders", "EXERCISE_STEM"]

EXERCISE_STEM = re.compile(r"ex(\d{2})(_[a-z0-9_]+)?", re.IGNORECASE)


@dataclass(frozen=True)
class TestCase:
    """One test case of one question: its function's source and what it is worth."""

    __test__ = False  # not a pytest class

    question: str
    name: str
    points: float
    hidden: bool
    source: str  # ``def name(params): ...`` without the decorator
    params: tuple  # the names it takes from the learner's notebook
    uses: frozenset = frozenset()  # dotted names it relies on: builtins.abs, numpy.allclose

    def payload(self):
        """What the kernel needs to run it (never the points: those stay with the grader)."""
        return {"name": self.name, "source": self.source, "params": list(self.params)}


_BUILTIN_NAMES = frozenset(dir(builtins))


def _dotted(node, aliases):
    """``np.testing.assert_allclose`` -> ``numpy.testing.assert_allclose`` (None if not one)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


def _uses(func):
    """The dotted names a test function relies on: the builtins it calls, the module
    attributes it reads (``np.allclose``, ``stats.beta.ppf``)."""
    aliases, local = {}, {a.arg for a in func.args.args}
    for node in ast.walk(func):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
    uses = set(aliases.values())
    for node in ast.walk(func):
        if isinstance(node, ast.Attribute):
            name = _dotted(node, aliases)
            if name:
                uses.add(name)
        elif isinstance(node, ast.Name) and node.id in _BUILTIN_NAMES and node.id not in local:
            uses.add(f"builtins.{node.id}")
    if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(func)):
        uses.add("builtins.__import__")
    return frozenset(uses)


def parse_tests(source, question=None):
    """The test cases of one otter test file (exception format), in file order.

    >>> src = '''from otter.test_files import test_case
    ... name = "q1"
    ... @test_case(points=2, hidden=True)
    ... def test_sum(total):
    ...     import numpy as np
    ...     assert np.isclose(abs(total), 3), "total should be 3"
    ... '''
    >>> [case] = parse_tests(src)
    >>> case.question, case.name, case.points, case.hidden, case.params
    ('q1', 'test_sum', 2.0, True, ('total',))
    >>> sorted(case.uses)
    ['builtins.__import__', 'builtins.abs', 'numpy', 'numpy.isclose']
    """
    tree = ast.parse(source)
    if question is None:
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "name"
            ):
                question = ast.literal_eval(node.value)
    cases = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        deco = [
            d
            for d in node.decorator_list
            if isinstance(d, ast.Call)
            and getattr(d.func, "id", getattr(d.func, "attr", "")) == "test_case"
        ]
        if not deco:
            continue
        kwargs = {k.arg: ast.literal_eval(k.value) for k in deco[0].keywords}
        if kwargs.get("points") is None:
            raise ValueError(
                f"test case {node.name!r} of {question!r} has no points: give it "
                "`points: N` in its TEST CONFIG block."
            )
        func = ast.FunctionDef(
            name=node.name,
            args=node.args,
            body=node.body,
            decorator_list=[],
            returns=None,
            type_comment=None,
            lineno=node.lineno,
            col_offset=0,
        )
        cases.append(
            TestCase(
                str(question),
                kwargs.get("name") or node.name,
                float(kwargs["points"]),
                bool(kwargs.get("hidden", False)),
                ast.unparse(ast.fix_missing_locations(func)),
                tuple(a.arg for a in node.args.args),
                _uses(node),
            )
        )
    return cases


@dataclass
class ExerciseKey:
    """Everything needed to grade one exercise, read from solutions/ and exercises/."""

    name: str
    questions: dict  # question -> points possible, in notebook order
    tests: dict  # question -> otter test file source (public and hidden test cases)
    cell_ids: list  # cell ids of the handed-out notebook, in order
    _cases: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def short(self):
        m = EXERCISE_STEM.match(self.name)
        return f"ex{m.group(1)}" if m else self.name

    @property
    def possible(self):
        return sum(self.questions.values())

    def cases(self, question):
        """The parsed test cases of ``question`` (public and hidden)."""
        if question not in self._cases:
            self._cases[question] = parse_tests(self.tests[question], question)
        return self._cases[question]


def course_folders(course=None, key=None, exercises=None):
    """(key folder, exercises folder or None) from what the instructor named.

    ``key`` (the solution notebooks) wins over ``course`` (a folder holding ``solutions/``
    and ``exercises/``); ``exercises`` defaults to the course's, or to an ``exercises/``
    beside the key folder, or to none (deleted and moved cells are then found from the
    solutions' cell ids).
    """
    if key is None and course is None:
        raise ValueError(
            "say where the tests are: --course DIR (a folder with solutions/ and "
            "exercises/, such as the course repository) or --key DIR (the "
            "solution notebooks)."
        )
    if key is None:
        key = Path(course) / "solutions"
        if not Path(course).is_dir():
            raise ValueError(f"course == {str(course)!r} is not a folder.")
        if not key.is_dir():
            raise ValueError(
                f"course == {str(course)!r} has no solutions/ folder: name the "
                "course folder that holds solutions/ and exercises/, or the key "
                "folder itself with --key."
            )
    key = Path(key)
    if not key.is_dir():
        raise ValueError(f"key == {str(key)!r} is not a folder of solution notebooks.")
    if exercises is None:
        for candidate in ([Path(course) / "exercises"] if course is not None else []) + [
            key.parent / "exercises"
        ]:
            if candidate.is_dir():
                exercises = candidate
                break
    elif not Path(exercises).is_dir():
        raise ValueError(f"exercises == {str(exercises)!r} is not a folder.")
    return key.resolve(), (Path(exercises).resolve() if exercises is not None else None)


def load_keys(solutions, exercises=None):
    """Read the grading key of every exercise in ``solutions``: ``{name: ExerciseKey}``.

    ``exercises`` (optional) is the folder of the notebooks as handed out; their cell ids
    are what deleted and moved cells are checked against.
    """
    import nbformat

    keys = {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        meta = nb.metadata.get("otter", {})
        tests = dict(meta.get("tests", {}))
        if not tests:
            continue
        name = meta.get("assignment_name") or path.stem
        handed_out = Path(exercises) / path.name if exercises is not None else None
        src = nbformat.read(handed_out, as_version=4) if handed_out and handed_out.exists() else nb
        key = ExerciseKey(name, {}, tests, [c.get("id") for c in src.cells])
        key.questions = {q: sum(c.points for c in key.cases(q)) for q in tests}
        keys[name] = key
    if not keys:
        raise ValueError(
            f"solutions == {str(solutions)!r} holds no otter solution notebooks; "
            "run `python -m bandit_lab.grading assign` in the course folder first."
        )
    return keys
