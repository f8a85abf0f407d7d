"""The graded exercises: generated files are current, solutions earn every mark, blank
notebooks earn none, and each planted mistake costs exactly the marks it should.

The solutions run through the real grader (a kernel each, as an instructor's batch would);
the blank notebooks and the planted answers (tests/exercise_fixtures/wrong_answers.yaml) run
in this process, cell by cell, and are scored with the very same otter test files: that
keeps the suite fast and still exercises every public and hidden test.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest

pytest.importorskip("otter", reason="the grading extra (otter-grader) is not installed")

import yaml

from bandit_lab import grading
from bandit_lab.grading.kernel_side import run_cases

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "exercise_fixtures" / "wrong_answers.yaml"
ANSWERS = yaml.safe_load(FIXTURES.read_text(encoding="utf-8"))
NAMES = sorted(p.stem for p in (ROOT / "exercises_src").glob("ex*.ipynb"))


@pytest.fixture(scope="module")
def keys():
    return grading.load_keys(ROOT / "solutions", ROOT / "exercises")


def run_in_process(nb):
    """Execute a notebook's code cells in one fresh namespace, skipping otter's own cells.

    Returns the namespace and the ``(cell id, error)`` of every cell that raised."""
    env = {"__name__": "__main__"}
    errors = []
    for cell in nb.cells:
        if (
            cell.cell_type != "code"
            or str(cell.get("id")).endswith("otter-init")
            or re.match(r"\s*grader\.", cell.source)
        ):
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(cell.source, f"<cell {cell.get('id')}>", "exec"), env)
        except Exception as exc:  # a blank or wrong answer may raise: that is the point
            errors.append((cell.get("id"), f"{type(exc).__name__}: {exc}"))
        finally:
            plt.close("all")
    return env, errors


def score_in_process(env, key):
    """{question: (score, possible, report)}, with the runner the grader's kernels use."""
    out = {}
    for q in key.questions:
        cases = key.cases(q)
        results = run_cases([c.payload() for c in cases], env, timeout=120)
        score = sum(c.points for c, r in zip(cases, results) if r["passed"])
        report = "\n".join(f"{r['name']}: {r['kind']}: {r['message']}" for r in results)
        out[q] = (score, key.questions[q], report, results)
    return out


# -- the generated notebooks ------------------------------------------------------------------


def test_committed_exercises_and_solutions_match_the_masters():
    stale = grading.assign(course=ROOT, check=True)
    assert not stale, (
        "exercises/ or solutions/ differ from what exercises_src/ generates; run "
        f"`python -m bandit_lab.grading assign` and commit: {stale}"
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_exercise_has_a_story_a_picture_and_graded_questions(name, keys):
    learner = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    first_md = next(c for c in learner.cells if c.cell_type == "markdown")
    assert first_md.source.startswith("# Exercise "), "the story starts with an 'Exercise N' title"
    assert "By the end of this exercise you will be able to" in first_md.source
    assert "minutes" in first_md.source, "the story says how long the exercise takes"
    assert any(c.cell_type == "code" and "plt.show()" in c.source for c in learner.cells), (
        "a picture"
    )
    key = keys[name]
    assert len(key.questions) >= 2
    public = learner.metadata["otter"]["tests"]
    for q in key.tests:
        cases = key.cases(q)
        assert any(not c.hidden for c in cases), f"{q} has public tests for instant feedback"
        assert any(c.hidden for c in cases), f"{q} has hidden tests for grading"
        assert not any(c.hidden for c in grading.parse_tests(public[q])), (
            f"the learner's notebook must not carry {q}'s hidden tests"
        )
        assert any(c.source.strip() == f'grader.check("{q}")' for c in learner.cells)
    said = {
        f"q{k}": float(p)
        for c in learner.cells
        if c.cell_type == "markdown"
        for k, p in re.findall(r"\*\*Question (\d+) \((\d+(?:\.\d+)?) points?\)\.\*\*", c.source)
    }
    assert said == key.questions, (
        f"the prompts' points {said} must be the tests' points {key.questions}"
    )
    # the learner sees prompts, never the solution
    for cell in learner.cells:
        assert "SOLUTION" not in cell.source
        assert "How the solution thinks" not in cell.source
    # the solution shows the answers without the authoring markup, and teaches: each
    # question's answer comes with prose that says how the solution thinks
    answers = [
        c for c in solution.cells if "otter_assign_solution_cell" in c.metadata.get("tags", [])
    ]
    assert any(c.cell_type == "code" for c in answers), "the solution notebook holds the answers"
    for cell in solution.cells:
        for mark in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN PROMPT", "END PROMPT", "# SOLUTION"):
            assert mark not in cell.source, (
                f"the solution shows otter's markup {mark!r}: {cell.get('id')}"
            )
    explained = {
        m.group(1)
        for c in answers
        if c.cell_type == "markdown" and len(c.source.split()) >= 30
        for m in [re.search(r"-(q\d+)-", c.get("id", ""))]
        if m
    }
    assert explained >= set(key.questions), (
        f"every question's solution explains its reasoning in prose (a markdown cell in the "
        f"solution block, id exNN-qK-explanation); missing for {sorted(set(key.questions) - explained)}"
    )


@pytest.mark.parametrize("folder", ["exercises", "solutions"])
def test_committed_notebooks_are_executed_top_to_bottom_without_errors(folder):
    """Both are committed executed (what `assign` writes); a blank picture asks for answers."""
    for name in NAMES:
        nb = nbformat.read(ROOT / folder / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        checks = [c for c in code if c.source.startswith("grader.check")]
        ran = code
        assert [c.execution_count for c in ran] == list(range(1, len(ran) + 1)), (
            f"{folder}/{name} was not executed top to bottom in one kernel"
        )
        errors = [c.get("id") for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{folder}/{name}: stored errors in {errors}"
        picture = next(c for c in code if c.get("id", "").endswith("-picture"))
        kinds = {k for o in picture.outputs for k in o.get("data", {})}
        text = "".join(o.get("text", "") for o in picture.outputs)
        if folder == "exercises":
            assert "image/png" not in kinds and re.match(
                r"Fill in q.* above to see your picture", text
            ), f"{name}: the blank exercise's picture cell should ask for the answers: {text!r}"
        else:
            assert "image/png" in kinds, f"{name}: the solution's picture is missing"
        if folder == "exercises":
            shown = [
                "".join(o.get("data", {}).get("text/plain", "")) for c in checks for o in c.outputs
            ]
            assert len(shown) == len(checks) and all(
                re.match(r"q\d+: NOT ANSWERED YET\n", t) for t in shown
            ), f"{name}: a blank exercise's checks say 'not answered yet', no failure: {shown}"
        else:
            shown = [
                "".join(o.get("data", {}).get("text/plain", "")) for c in checks for o in c.outputs
            ]
            assert len(shown) == len(checks) and all(
                re.fullmatch(r"q\d+: PASSED all \d+ public tests?", t) for t in shown
            ), f"{name}: {shown}"


@pytest.mark.parametrize("name", NAMES)
def test_links_lead_somewhere(name):
    nb = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
    links = [
        link
        for c in nb.cells
        if c.cell_type == "markdown"
        for link in re.findall(r"\]\(([^)#]+\.ipynb)\)", c.source)
    ]
    assert links, "each exercise links back to the notebook it goes with"
    for link in links:
        assert (ROOT / "exercises" / link).resolve().is_file(), f"{name}: broken link {link}"


def test_learner_check_gives_feedback_from_public_tests(tmp_path, monkeypatch):
    """What a learner sees: grader.check runs the public tests and says what is wrong."""
    from bandit_lab.grading.learner import Notebook

    shutil.copy(ROOT / "exercises" / "ex01_beta_update.ipynb", tmp_path)
    monkeypatch.chdir(tmp_path)
    grader = Notebook("ex01_beta_update.ipynb")
    env = {}
    blank = grader.check(
        "q1",
        global_env={
            "beta_update": run_in_process(
                nbformat.read(tmp_path / "ex01_beta_update.ipynb", as_version=4)
            )[0]["beta_update"]
        },
    )
    assert repr(blank).splitlines()[0] == "q1: NOT ANSWERED YET"
    assert "q1 is not answered yet" in repr(blank) and "not answered yet" in blank._repr_html_()
    exec(
        "import numpy as np\n"
        "def beta_update(alpha, beta, rewards):\n"
        "    r = np.asarray(rewards, dtype=float)\n"
        "    return float(alpha + (r > 0).sum()), float(beta + (r == 0).sum())\n",
        env,
    )
    result = grader.check("q1", global_env=env)
    assert len(result.results) == 2, "only the two public tests run for the learner"
    assert [r["passed"] for r in result.results] == [True, False]
    text = repr(result)
    assert text.splitlines()[0] == "q1: NOT YET: 1 of 2 public tests failed"
    assert "A click (reward 0.1) was counted as a whole success" in text
    assert "assert" not in text and "Traceback" not in text, "the message, not the test's source"
    html = result._repr_html_()
    assert "#b3261e" in html and "NOT YET" in html, "failing reads in words and in red"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ex01_beta_update.ipynb"], "no log files"
    with pytest.raises(ValueError, match="must be one of"):
        grader.check("q9", global_env=env)


# -- blank notebooks, planted mistakes, answers written differently ----------------------------


@pytest.mark.parametrize("name", NAMES)
def test_untouched_exercise_scores_zero(name, keys):
    nb = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
    env, errors = run_in_process(nb)
    scores = score_in_process(env, keys[name])
    assert {q: s for q, (s, *_) in scores.items()} == {q: 0 for q in scores}
    assert not errors, (
        "a blank notebook runs top to bottom without an error: a cell that "
        f"needs an answer says so instead: {errors}"
    )
    for q, (_, _, report, results) in scores.items():
        assert {r["kind"] for r in results} == {"blank"}, (
            f"{name} {q}: a blank answer is told it is not answered yet, nothing else:\n{report}"
        )


@pytest.mark.parametrize("answer", ANSWERS, ids=[a["id"] for a in ANSWERS])
def test_planted_answer_earns_exactly_what_it_should(answer, keys):
    key = keys[answer["exercise"]]
    nb = nbformat.read(ROOT / "solutions" / f"{answer['exercise']}.ipynb", as_version=4)
    target = [c for c in nb.cells if c.get("id") == answer["cell"]]
    assert len(target) == 1, f"no cell {answer['cell']!r} in the solution"
    target[0].source = answer["source"]
    env, errors = run_in_process(nb)
    errors = [
        e for e in errors if not e[0].endswith("-picture")
    ]  # a wrong shape may break the plot
    assert not errors, f"the planted answer should run without errors: {errors}"
    scores = score_in_process(env, key)
    for q, (score, possible, report, _) in scores.items():
        want = answer["expect"].get(q, possible)
        assert score == pytest.approx(want), f"{q}: {score}/{possible}, want {want}\n{report}"
    if "message" in answer:
        told = "\n".join(scores[q][2] for q in answer["expect"])
        assert answer["message"] in told, f"the learner is not told {answer['message']!r}:\n{told}"


def test_every_exercise_has_planted_mistakes():
    planted = {a["exercise"] for a in ANSWERS if a["expect"]}
    assert planted >= {n for n in NAMES}, f"no wrong answers for {set(NAMES) - planted}"


# -- the solutions and the blank exercises, through the real grader, in its sandbox ----------


@pytest.mark.slow
def test_every_solution_scores_full_marks_and_every_blank_exercise_zero_in_the_grader(
    keys, tmp_path
):
    subs = []
    for folder in ("solutions", "exercises"):
        for name in NAMES:
            target = tmp_path / folder
            target.mkdir(exist_ok=True)
            shutil.copy(ROOT / folder / f"{name}.ipynb", target)
            subs.append(grading.Submission(target / f"{name}.ipynb", folder))
    results = grading.grade_many(
        subs, keys, jobs=2, cell_timeout=120, test_timeout=120, deadline=400
    )
    for r in results:
        assert r.exercise == r.path.stem
        want = (
            keys[r.exercise].questions
            if r.student == "solutions"
            else {q: 0 for q in keys[r.exercise].questions}
        )
        assert r.scores == want, f"{r.student} {r.exercise}: {r.scores}\n{r.notes}\n{r.feedback}"
        assert r.notes == [] and r.flags == [], f"{r.exercise}: ran with problems: {r.notes}"
        if r.student == "exercises":
            assert all(line.endswith("is not answered yet") for line in r.feedback.splitlines()), (
                r.feedback
            )
