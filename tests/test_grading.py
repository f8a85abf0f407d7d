"""bandit-lab grade: a batch of broken submissions is graded fairly and never stops.

The unit tests need no kernel. The batch test (slow) grades, through the command line, a
folder holding a notebook with a syntax error, an exception, a renamed file, deleted and
moved cells, one with endless loops (in a cell and inside a function the tests call), an
untouched exercise, a file that is not a notebook and one nobody can recognise; one more
notebook ignores interrupts (its cell is dropped and the rest graded), another outlives the
deadline. A dask cluster must grade a batch exactly as local processes do, and grading
without a sandbox must say so on every row. Hostile notebooks: tests/test_grading_hostile.py.
"""

from __future__ import annotations

import copy
import csv
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("otter", reason="the grading extra (otter-grader) is not installed")

from bandit_lab import grading
from bandit_lab.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
EX01 = "ex01_beta_update"


@pytest.fixture(scope="module")
def keys():
    return grading.load_keys(ROOT / "solutions", ROOT / "exercises")


def solution(name=EX01):
    return nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)


def cell(nb, cid):
    return next(c for c in nb.cells if c.get("id") == cid)


def write(nb, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


# -- finding and recognising submissions -------------------------------------------------------


def test_find_submissions_names_students(tmp_path):
    nb = solution()
    write(nb, tmp_path / "class" / "alice" / f"{EX01}.ipynb")
    write(nb, tmp_path / "class" / "alice" / "extra" / "ex02_thompson_step.ipynb")
    write(nb, tmp_path / "class" / "bob_ex02_thompson_step.ipynb")
    write(nb, tmp_path / "class" / "Carol Day - ex03.ipynb")
    write(nb, tmp_path / "class" / f"{EX01}.ipynb")
    write(nb, tmp_path / "class" / ".ipynb_checkpoints" / f"{EX01}-checkpoint.ipynb")
    single = write(nb, tmp_path / "dave" / f"{EX01}.ipynb")
    found = grading.find_submissions([tmp_path / "class", single])
    got = sorted((s.student, s.path.name) for s in found)
    assert got == sorted(
        [
            ("alice", f"{EX01}.ipynb"),
            ("alice", "ex02_thompson_step.ipynb"),
            ("bob", "bob_ex02_thompson_step.ipynb"),
            ("Carol_Day", "Carol Day - ex03.ipynb"),
            ("class", f"{EX01}.ipynb"),
            ("dave", f"{EX01}.ipynb"),
        ]
    )
    with pytest.raises(FileNotFoundError, match="does not exist"):
        grading.find_submissions([tmp_path / "nowhere"])


def test_identify_by_metadata_file_name_or_cells(keys):
    nb = solution()
    assert grading.submissions.identify(nb, Path(f"{EX01}.ipynb"), keys) == (EX01, None)
    name, note = grading.submissions.identify(nb, Path("Untitled3.ipynb"), keys)
    assert name == EX01 and note == f"file renamed: 'Untitled3.ipynb' graded as {EX01}"
    bare = copy.deepcopy(nb)
    del bare.metadata["otter"]
    assert grading.submissions.identify(bare, Path("alice_ex01.ipynb"), keys)[0] == EX01
    assert (
        grading.submissions.identify(bare, Path("homework.ipynb"), keys)[0] == EX01
    )  # by its cell ids
    blank = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    name, note = grading.submissions.identify(blank, Path("homework.ipynb"), keys)
    assert name is None and "could not tell which exercise" in note


def test_structure_notes_report_deleted_and_moved_cells(keys):
    nb = solution()
    assert grading.submissions.structure_notes(nb, keys[EX01]) == []
    ids = [c.get("id") for c in nb.cells]
    check = nb.cells.pop(ids.index("ex01-q1-check"))
    nb.cells.insert(ids.index("ex01-q1-answer"), check)  # the check now comes before the answer
    nb.cells = [c for c in nb.cells if c.get("id") != "ex01-picture"]
    notes = grading.submissions.structure_notes(nb, keys[EX01])
    assert notes[0] == "1 cell(s) deleted (ex01-picture), graded without them"
    assert notes[1].startswith("cell(s) moved out of order (ex01-q1-")
    for k, c in enumerate(nb.cells):  # what an old Jupyter, or a copy into a new notebook, leaves
        c.id = f"cell{k}"
    assert grading.submissions.structure_notes(nb, keys[EX01])[0].startswith(
        "its cells carry none of the handed-out cell ids"
    )


def test_prepare_skips_check_calls_and_keeps_the_rest():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell('x = 1\ngrader.check("q1")'),
            nbformat.v4.new_code_cell('if True:\n    grader.check("q2")  # again\n    y = 2'),
            nbformat.v4.new_markdown_cell("grader.check('q3')"),
        ]
    )
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="old")]
    out = grading.submissions.prepare(nb)
    assert out.cells[0].source.splitlines() == [
        "x = 1",
        'pass  # grader.check("q1"): graded after the last cell',
    ]
    assert out.cells[1].source.splitlines()[1].startswith("    pass  # ")
    assert out.cells[0].outputs == [] and nb.cells[0].outputs, (
        "the copy is cleaned, not the original"
    )
    assert out.cells[2].source == "grader.check('q3')"
    assert [c.metadata["bandit_lab_cell"] for c in out.cells] == [0, 1, 2]


def test_load_keys_reads_points_from_the_solutions(keys, tmp_path):
    assert keys[EX01].questions == {"q1": 3, "q2": 3}
    assert keys[EX01].short == "ex01"
    assert "ex01-otter-init" in keys[EX01].cell_ids
    with pytest.raises(ValueError, match="holds no otter solution notebooks"):
        grading.load_keys(tmp_path, tmp_path)


def test_assign_rejects_unknown_masters_and_checks_without_writing(tmp_path):
    with pytest.raises(ValueError, match="must be masters in"):
        grading.assign(["ex99_nothing"], course=ROOT)
    stale = grading.assign(
        [EX01], course=ROOT, exercises=tmp_path / "e", solutions=tmp_path / "s", check=True
    )
    assert sorted(p.parent.name for p in stale) == ["e", "s"]
    assert not (tmp_path / "e").exists(), "--check writes nothing"


def test_assign_check_compares_sources_not_outputs(tmp_path):
    e, s = tmp_path / "e", tmp_path / "s"
    for folder, target in (("exercises", e), ("solutions", s)):
        target.mkdir()
        shutil.copy(ROOT / folder / f"{EX01}.ipynb", target)
    assert grading.assign([EX01], course=ROOT, exercises=e, solutions=s, check=True) == []
    nb = nbformat.read(s / f"{EX01}.ipynb", as_version=4)
    printed = next(c for c in nb.cells if c.cell_type == "code" and c.outputs)
    printed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="something else\n")]
    write(nb, s / f"{EX01}.ipynb")
    assert grading.assign([EX01], course=ROOT, exercises=e, solutions=s, check=True) == [], (
        "outputs are not compared (nbval compares the solutions' outputs)"
    )
    printed.source += "\nprint('one more line')"
    write(nb, s / f"{EX01}.ipynb")
    assert grading.assign([EX01], course=ROOT, exercises=e, solutions=s, check=True) == [
        s / f"{EX01}.ipynb"
    ]
    nb = nbformat.read(e / f"{EX01}.ipynb", as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    write(nb, e / f"{EX01}.ipynb")
    assert e / f"{EX01}.ipynb" in grading.assign(
        [EX01], course=ROOT, exercises=e, solutions=s, check=True
    ), "a notebook that was never executed is out of date"


@pytest.mark.slow
def test_assign_writes_executed_notebooks_that_match_the_committed_ones(tmp_path):
    e, s = tmp_path / "e", tmp_path / "s"
    written = grading.assign([EX01], course=ROOT, exercises=e, solutions=s)
    assert sorted(written) == [e / f"{EX01}.ipynb", s / f"{EX01}.ipynb"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["e", "s", f"{EX01}.ipynb", f"{EX01}.ipynb"]
    ), "executing leaves no by-products (.OTTER_LOG) next to the notebooks"

    def printed(path):
        nb = nbformat.read(path, as_version=4)
        return [
            (
                c.execution_count,
                [
                    (o.output_type, o.get("text"), o.get("data", {}).get("text/plain"))
                    for o in c.outputs
                ],
            )
            for c in nb.cells
            if c.cell_type == "code"
        ]

    for folder, new in (("exercises", e), ("solutions", s)):
        got = printed(new / f"{EX01}.ipynb")
        assert got == printed(ROOT / folder / f"{EX01}.ipynb")
        nb = nbformat.read(new / f"{EX01}.ipynb", as_version=4)
        assert all(
            c.execution_count is not None
            for c in nb.cells
            if c.cell_type == "code"
            and (folder == "solutions" or not c.source.startswith("grader.check"))
        )
    assert grading.assign([EX01], course=ROOT, exercises=e, solutions=s) == [], (
        "up to date: nothing rewritten"
    )


# -- the grade sheet ---------------------------------------------------------------------------


def fake(student, exercise, scores, notes=(), name=None):
    r = grading.GradeResult(
        student, Path(name or f"{exercise}.ipynb"), exercise, dict(scores), list(notes)
    )
    return r


def test_gradebook_one_row_per_student_best_submission_kept(keys):
    results = [
        fake("alice", EX01, {"q1": 3.0, "q2": 1.0}, name="first.ipynb"),
        fake("alice", EX01, {"q1": 3.0, "q2": 3.0}, name="second.ipynb"),
        fake(
            "bob",
            "ex03_ucb1_index",
            {"q1": 4.0, "q2": 0.0, "q3": 2.0},
            ["cell 5 (q2-answer) raised NameError: x"],
        ),
        grading.GradeResult(
            "carol", Path("what.ipynb"), None, notes=["could not tell which exercise"]
        ),
    ]
    columns, rows = grading.gradebook(results, keys)
    assert columns == [
        "student",
        "ex01.q1",
        "ex01.q2",
        "ex03.q1",
        "ex03.q2",
        "ex03.q3",
        "total",
        "notes",
    ]
    by = {r["student"]: r for r in rows}
    assert list(by) == ["alice", "bob", "carol"]
    assert by["alice"]["total"] == 6.0 and by["alice"]["ex03.q1"] == 0.0
    assert (
        "ex01: 2 submissions, kept the best (second.ipynb, also first.ipynb)"
        in by["alice"]["notes"]
    )
    assert "ex03: not submitted" in by["alice"]["notes"]
    assert (
        by["bob"]["total"] == 6.0
        and "ex03: cell 5 (q2-answer) raised NameError: x" in by["bob"]["notes"]
    )
    assert by["carol"]["total"] == 0.0 and "could not tell which exercise" in by["carol"]["notes"]
    text = grading.format_summary(columns, rows, keys)
    lines = text.splitlines()
    assert lines[0].split() == ["student", "ex01", "ex03", "total"]
    assert lines[2].split() == ["alice", "6/6", "0/9", "6/15"]
    assert "Notes:" in lines and "  carol: could not tell which exercise" in lines


def test_summary_lists_the_submissions_to_look_at(keys):
    flagged = fake(
        "mallory",
        EX01,
        {"q1": 0.0, "q2": 0.0},
        ["q1 scores 0: the notebook replaced numpy.allclose, which its tests rely on"],
    )
    flagged.flags = ["q1 scores 0: the notebook replaced numpy.allclose, which its tests rely on"]
    results = [fake("alice", EX01, {"q1": 3.0, "q2": 3.0}), flagged]
    columns, rows = grading.gradebook(results, keys)
    lines = grading.format_summary(columns, rows, keys, results).splitlines()
    at = lines.index("Look at these (their marks may not be what the learner earned):")
    assert (
        lines[at + 1]
        == "  mallory: ex01: q1 scores 0: the notebook replaced numpy.allclose, which its tests rely on"
    )
    assert "alice" not in "\n".join(lines[at : lines.index("Notes:")])


def test_write_csv_round_trips(tmp_path, keys):
    columns, rows = grading.gradebook([fake("alice", EX01, {"q1": 1.5, "q2": 3.0})], keys)
    grading.write_csv(tmp_path / "g.csv", columns, rows)
    with open(tmp_path / "g.csv", newline="") as f:
        got = list(csv.DictReader(f))
    assert got == [
        {"student": "alice", "ex01.q1": "1.5", "ex01.q2": "3.0", "total": "4.5", "notes": ""}
    ]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["x", "--timeout", "0", "--course", "{root}"], "--timeout == 0.0, must be > 0."),
        (["{empty}", "--course", "{root}"], "no notebooks (*.ipynb) found"),
        (["{missing}", "--course", "{root}"], "does not exist"),
        (["{empty}"], "say where the tests are: --course DIR"),
        (["{empty}", "--course", "{empty}"], "has no solutions/ folder"),
        (["{empty}", "--key", "{missing}"], "is not a folder of solution notebooks"),
        (["x", "--course", "{root}", "--memory", "100M"], "must be at least 512 MiB"),
        (["x", "--course", "{root}", "--executor", "nowhere"], "must be 'inline', 'processes'"),
    ],
)
def test_grade_command_rejects_bad_input(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    if "nowhere" in argv:
        write(solution(), tmp_path / "x" / f"{EX01}.ipynb")
    argv = [
        a.format(empty=tmp_path / "empty", missing=tmp_path / "missing", root=ROOT) for a in argv
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        assert cli_main(["grade", *argv]) == 2
    assert message in capsys.readouterr().err


def test_grade_refuses_without_a_sandbox_and_says_why(tmp_path, capsys, monkeypatch):
    write(solution(), tmp_path / "x" / f"{EX01}.ipynb")
    monkeypatch.setattr(
        grading.batch, "sandbox_problem", lambda: "bubblewrap (`bwrap`) is not installed: ..."
    )
    assert cli_main(["grade", str(tmp_path / "x"), "--course", str(ROOT)]) == 3
    err = capsys.readouterr().err
    assert "refusing to run learners' code without a sandbox" in err and "bwrap" in err


def test_sandbox_problems_say_the_fix_and_the_way_around(monkeypatch):
    monkeypatch.setattr(grading.sandbox.shutil, "which", lambda name: None)
    text = grading.sandbox_problem()
    assert "apt-get install bubblewrap" in text and "--no-sandbox" in text
    monkeypatch.setattr(grading.sandbox.sys, "platform", "darwin")
    text = grading.sandbox_problem()
    assert "needs Linux" in text and "--no-sandbox" in text


@pytest.mark.skipif(grading.sandbox_problem() is not None, reason="no bubblewrap sandbox here")
def test_a_python_installed_under_tmp_is_seen_through_the_private_tmp(tmp_path, monkeypatch):
    # a course cloned into /tmp, its .venv with it: the kernel's Python must be found inside
    # the sandbox, while the rest of the host's /tmp stays out of sight
    venv = tmp_path / "course" / ".venv"
    venv.mkdir(parents=True)
    (venv / "marker").write_text("the venv")
    (tmp_path / "course" / "private").write_text("not for the sandbox")
    assert str(venv).startswith("/tmp/")
    monkeypatch.setattr(grading.sandbox, "python_paths", lambda: [venv])
    work = grading.sandbox.private_folder()
    try:
        limits = grading.sandbox.Limits()
        argv = [
            "/bin/sh",
            "-c",
            f"cat {venv / 'marker'}; echo '|'; ls -A {tmp_path / 'course'}; echo '|'; ls -A /tmp",
        ]
        done = subprocess.run(
            grading.sandbox.bwrap_command(work, argv, limits=limits),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    marker, course, tmp = (part.split() for part in done.stdout.split("|"))
    assert marker == ["the", "venv"]
    assert course == [".venv"], "only the Python installation is bound, not its neighbours"
    assert sorted(tmp) == sorted([tmp_path.relative_to("/tmp").parts[0], work.name]), tmp


# -- a real batch, broken notebooks and all ----------------------------------------------------


def broken_class(folder):
    """The submissions of a class that made every mistake we could think of.

    (Correct notebooks go through the grader in tests/test_exercises.py.)"""
    bob = solution()  # syntax error, an exception, a renamed file, a deleted and a moved cell
    cell(
        bob, "ex01-q2-answer"
    ).source = "post_alpha, post_beta = beta_update(PRIOR_ALPHA, PRIOR_BETA week_rewards)"
    ids = [c.get("id") for c in bob.cells]
    extra = nbformat.v4.new_code_cell("ratio = 1 / 0")
    extra.id = "bobs-own-cell"
    bob.cells.insert(ids.index("ex01-q1-check") + 1, extra)
    check = bob.cells.pop(ids.index("ex01-q1-check"))
    bob.cells.insert(ids.index("ex01-q1-answer"), check)
    bob.cells = [c for c in bob.cells if c.get("id") != "ex01-picture"]
    write(bob, folder / "bob" / "my answers (2).ipynb")

    frank = solution()  # endless loops: one in a cell, one inside the function the tests call
    cell(
        frank, "ex01-q1-answer"
    ).source = "import time\n\ndef beta_update(alpha, beta, rewards):\n    while True:\n        time.sleep(0.05)\n"
    write(frank, folder / "frank" / f"{EX01}.ipynb")

    shutil.copy(ROOT / "exercises" / "ex03_ucb1_index.ipynb", folder / "jo_ex03_ucb1_index.ipynb")
    (folder / "ivan").mkdir()
    (folder / "ivan" / f"{EX01}.ipynb").write_text('{"cells": [ this is not json', encoding="utf-8")
    write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hello')")]),
        folder / "stranger.ipynb",
    )


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    broken_class(folder)
    out = folder.parent / "grades.csv"
    feedback = folder.parent / "feedback"
    start = time.monotonic()
    code = cli_main(
        [
            "grade",
            str(folder),
            "--course",
            str(ROOT),
            "--out",
            str(out),
            "--feedback",
            str(feedback),
            "--jobs",
            "2",
            "--timeout",
            "3",
            "--test-timeout",
            "1",
            "--deadline",
            "300",
            "--quiet",
        ]
    )
    seconds = time.monotonic() - start
    with open(out, newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return code, rows, feedback, seconds


@pytest.mark.slow
def test_batch_grades_everyone(graded_class):
    code, rows, _, _ = graded_class
    assert code == 0
    assert sorted(rows) == ["bob", "frank", "ivan", "jo", "stranger"]
    assert list(rows["bob"]) == [
        "student",
        "ex01.q1",
        "ex01.q2",
        "ex03.q1",
        "ex03.q2",
        "ex03.q3",
        "total",
        "notes",
    ]
    assert rows["bob"]["notes"].endswith(" | ex03: not submitted")


@pytest.mark.slow
def test_syntax_error_exception_rename_and_moved_cells_cost_only_what_they_break(graded_class):
    bob = graded_class[1]["bob"]
    assert (bob["ex01.q1"], bob["ex01.q2"], bob["total"]) == ("3.0", "0.0", "3.0")
    notes = bob["notes"]
    assert "file renamed: 'my answers (2).ipynb' graded as ex01_beta_update" in notes
    assert "(ex01-q2-answer) raised SyntaxError" in notes
    assert "(bobs-own-cell) raised ZeroDivisionError: division by zero" in notes
    assert "1 cell(s) deleted (ex01-picture)" in notes and "moved out of order" in notes


@pytest.mark.slow
def test_endless_loops_are_stopped_and_the_rest_still_graded(graded_class):
    _, rows, feedback, _ = graded_class
    frank = rows["frank"]
    assert frank["total"] == "0.0"
    assert "(ex01-q2-answer) was stopped after 3 s (an endless loop?)" in frank["notes"]
    report = (feedback / "frank" / f"{EX01}.txt").read_text()
    assert "stopped after 1 s: does the code it tests ever finish?" in report


@pytest.mark.slow
def test_untouched_unreadable_and_unknown_notebooks(graded_class):
    rows = graded_class[1]
    assert rows["jo"]["total"] == "0.0" and rows["jo"]["ex03.q1"] == "0.0"
    assert "renamed" not in rows["jo"]["notes"], (
        "jo_ex03_ucb1_index.ipynb follows the naming convention"
    )
    assert "not a readable notebook" in rows["ivan"]["notes"] and rows["ivan"]["ex01.q1"] == "0.0"
    assert "could not tell which exercise 'stranger.ipynb' is" in rows["stranger"]["notes"]


@pytest.mark.slow
def test_a_cell_that_ignores_interrupts_costs_only_itself(keys):
    nb = solution()
    stubborn = nbformat.v4.new_code_cell(
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(3600)"
    )
    stubborn.id = "stubborn"
    nb.cells.insert(3, stubborn)
    start = time.monotonic()
    r = grading.grade_notebook_file(
        Path(f"{EX01}.ipynb"), keys[EX01], notebook=nb, cell_timeout=2, deadline=120
    )
    assert time.monotonic() - start < 100
    assert r.scores == keys[EX01].questions, r.notes
    assert r.notes == [
        "cell 4 (stubborn) was still running after 2 s and did not stop when "
        "interrupted; the notebook was run again without it"
    ]


@pytest.mark.slow
def test_deadline_stops_a_notebook(keys):
    nb = solution()
    nb.cells.insert(3, nbformat.v4.new_code_cell("import time\ntime.sleep(3600)"))
    start = time.monotonic()
    r = grading.grade_notebook_file(
        Path(f"{EX01}.ipynb"), keys[EX01], notebook=nb, cell_timeout=300, deadline=8
    )
    assert time.monotonic() - start < 60
    assert r.total == 0
    assert (
        "stopped after 8 s in total (--deadline), the questions not yet graded score 0" in r.notes
    )


# -- where the batch runs, and grading without a sandbox ---------------------------------------


def small_batch(folder):
    nb = solution()
    write(nb, folder / "ann" / f"{EX01}.ipynb")
    shutil.copy(ROOT / "exercises" / f"{EX01}.ipynb", folder / f"ben_{EX01}.ipynb")
    half = solution()
    cell(half, "ex01-q2-answer").source = "post_alpha = 1 / 0"
    write(half, folder / "cy" / f"{EX01}.ipynb")
    return grading.find_submissions([folder])


def outcome(results):
    return [(r.student, r.exercise, r.scores, r.notes, r.feedback, r.flags) for r in results]


@pytest.mark.slow
def test_a_dask_cluster_grades_exactly_like_local_processes(tmp_path, keys):
    distributed = pytest.importorskip("distributed", reason="the cluster extra is not installed")
    subs = small_batch(tmp_path)
    local = grading.grade_many(subs, keys, jobs=2, cell_timeout=60, deadline=300)
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = grading.grade_many(subs, keys, executor=client, cell_timeout=60, deadline=300)
    assert outcome(remote) == outcome(local)
    assert [r.total for r in local] == [6.0, 0.0, 3.0]
    assert "raised ZeroDivisionError: division by zero" in " ".join(local[2].notes)


@pytest.mark.slow
def test_grading_without_a_sandbox_says_so_on_every_row(tmp_path, capsys):
    small_batch(tmp_path / "class")
    out = tmp_path / "grades.csv"
    assert (
        cli_main(
            [
                "grade",
                str(tmp_path / "class"),
                "--course",
                str(ROOT),
                "--no-sandbox",
                "--out",
                str(out),
                "--jobs",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert printed.startswith("WARNING: graded WITHOUT a sandbox")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["total"] for r in rows] == ["6.0", "0.0", "3.0"]
    assert all("graded WITHOUT a sandbox (--no-sandbox)" in r["notes"] for r in rows)
