"""bandit-lab grade against a hostile class: one notebook per kind of attack, one batch.

Every case must be contained: no unearned marks, no other student affected, nothing
written outside the notebook's own sandbox, nothing left running, the batch finishes, and
the notes say what happened. The notebooks are exercise 1 (or 9) with a cell of their own.
A notebook that *looks* for something (solutions, hidden tests, other students' files, the
network) raises an error saying what it found: the grader's note on that cell is how the
test reads the sandbox from the inside.

Run with the sandbox, so Linux with bubblewrap only; the whole batch takes about two
minutes on two cores.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import socket
import time
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("otter", reason="the grading extra (otter-grader) is not installed")

from bandit_lab import grading
from bandit_lab.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
EX01, EX05, EX09 = "ex01_beta_update", "ex05_bayesian_ab_test", "ex09_linear_update"
MARK = "bandit-lab-hostile-" + hashlib.sha256(str(os.getpid()).encode()).hexdigest()[:8]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        grading.sandbox_problem() is not None,
        reason=f"no sandbox here: {grading.sandbox_problem()}",
    ),
]


def notebook(folder, name=EX01):
    return nbformat.read(ROOT / folder / f"{name}.ipynb", as_version=4)


def with_cell(nb, source, after=None, cid="hostile"):
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cid
    ids = [c.get("id") for c in nb.cells]
    nb.cells.insert(ids.index(after) + 1 if after else len(nb.cells), cell)
    return nb


def answer(nb, cid, source):
    next(c for c in nb.cells if c.get("id") == cid).source = source
    return nb


# What a snooping notebook looks for, everywhere it can read.
SNOOP = r"""
import os, sys, glob, json, pathlib, threading, time, gc
found = []
import bandit_lab
here = pathlib.Path(bandit_lab.__file__).resolve()
for up in list(here.parents)[:4]:
    for name in ("solutions", "exercises_src", ".git", "tests"):
        if (up / name).exists():
            found.append(str(up / name))
for path in [{paths}]:
    if os.path.exists(path):
        found.append(path)
system = ("/proc", "/sys", "/dev", "/usr", sys.prefix, sys.base_prefix,  # read-only, public
          str(here.parent))  # the course package's own source
mine = "{mark}-snoop"  # this very cell, in the notebook's own copy
for top in ("/", "/tmp", os.getcwd()):
    for dirpath, dirs, files in os.walk(top):
        if dirpath.startswith(system):
            dirs[:] = []
            continue
        for f in files:
            p = os.path.join(dirpath, f)
            if f.endswith((".ipynb", ".py", ".json", ".csv")) and "site-packages" not in p and "/lib/python" not in p:
                try:
                    text = open(p, errors="ignore").read(2_000_000)
                except OSError:
                    continue
                if mine in text:
                    continue
                if "hidden: true" in text or "hidden=True" in text or "BEGIN SOLUTION" in text or "test_keeps_prior" in text:
                    found.append(p)
secret = os.environ.get("BANDIT_LAB_TEST_SECRET")
if secret:
    found.append("env:" + secret)
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            if b"BANDIT_LAB_TEST_SECRET" in open(f"/proc/{{pid}}/environ", "rb").read():
                found.append(f"environ of {{pid}}")
        except OSError:
            pass
fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
def steal_later():  # a thread that waits for the hidden tests to arrive, and copies them out
    for _ in range(600):
        for obj in gc.get_objects():
            if isinstance(obj, str) and "test_keeps_prior" in obj:
                for target in ("/tmp/{mark}-stolen.txt", "{outside}/{mark}-stolen.txt", "stolen.txt"):
                    try:
                        open(target, "w").write(obj)
                    except OSError:
                        pass
                return
        time.sleep(0.05)
threading.Thread(target=steal_later, daemon=True).start()
raise RuntimeError("found " + (", ".join(found[:4]) if found else "nothing"))
"""

VANDAL = r"""
import os, socket
open("/tmp/{mark}-vandal.txt", "w").write("its private /tmp")  # allowed: gone with the sandbox
done = []
for target in [{targets}]:
    try:
        with open(target, "w") as f:
            f.write("vandalised")
        done.append(target)
    except OSError:
        pass
for host, port in (("127.0.0.1", {port}), ("1.1.1.1", 53)):
    try:
        socket.create_connection((host, port), timeout=2).close()
        done.append(f"{{host}}:{{port}}")
    except OSError:
        pass
raise RuntimeError("reached " + (", ".join(done) if done else "nothing"))
"""

LINGER = r"""
import os, subprocess, sys, threading, time
code = "import time, os\n# {mark}\ntime.sleep(4)\n" + "".join(
    f"try:\n    open({{t!r}}, 'a').write('changed by a leftover process')\nexcept OSError:\n    pass\n"
    for t in [{targets}])
subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:  # a double fork, detached from the kernel
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", code])
    os._exit(0)
"""

FORGE_RUNNER = r"""
import sys, json
def forged(payload):
    p = json.loads(payload)
    body = json.dumps({"nonce": p["nonce"], "question": p["question"], "replaced": [],
                       "cases": [{"name": c["name"], "passed": True, "kind": "passed", "message": ""}
                                 for c in p["cases"]]})
    return json.dumps({"body": body, "mac": "0" * 64})
for name in dir(sys):
    if callable(getattr(sys, name)) and getattr(getattr(sys, name), "__name__", "") == "runner":
        setattr(sys, name, forged)
"""

FORGE_FORMATTER = r"""
import json
def rewrite(text, p, cycle):
    p.text(repr(text.replace('\\"passed\\": false', '\\"passed\\": true').replace('\\"kind\\": \\"blank\\"', '\\"kind\\": \\"passed\\"')))
get_ipython().display_formatter.formatters["text/plain"].for_type(str, rewrite)
"""

FORGE_PICKLE_AND_JSON = r"""
import pickle, json
real = json.dumps
pickle.dump = lambda *a, **k: None
pickle.load = lambda *a, **k: {"q1": 3, "q2": 3}
json.dumps = lambda obj, *a, **k: real(obj, *a, **k).replace('"passed": false', '"passed": true')
for target in ("results.pkl", "results.json", "/tmp/results.pkl"):
    with open(target, "wb") as f:
        pickle.dump({"q1": 3.0, "q2": 3.0}, f)
"""

PATCH_RUNNERS = r"""
import otter.test_files.exception_test as et
et.ExceptionTestFile.run = lambda self, env: None
import bandit_lab.grading.kernel_side as ks
ks.run_cases = lambda cases, env, **k: [{"name": c["name"], "passed": True, "kind": "passed", "message": ""} for c in cases]
"""

PATCH_BUILTINS = r"""
import builtins
builtins.abs = lambda x: 0.0
def beta_update(alpha, beta, rewards):
    return (0.0, 0.0)
"""

PATCH_NUMPY = r"""
import numpy
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
def linear_update(mean, cov, x, reward, noise_var):
    return numpy.zeros(2), numpy.eye(2)
"""

# files of 1 MiB (well under --file-size) without end: the disk the other kernels share
FILLER = r"""
import os
k = 0
while True:
    with open(f"fill-{k}.bin", "wb") as f:
        f.write(os.urandom(1 << 20))
    k += 1
"""

# what the tests of ex05 q1 import themselves (``from scipy import integrate``)
PATCH_SCIPY = r"""
import scipy.integrate
scipy.integrate.quad = lambda *a, **k: (0.5, 0.0)
def prob_b_beats_a(alpha_a, beta_a, alpha_b, beta_b, n_samples, rng):
    return 0.5
"""

# the function left in place, its default tolerances changed
PATCH_DEFAULTS = r"""
import numpy
numpy.allclose._implementation.__defaults__ = (1e9, 1e9, False)
numpy.isclose._implementation.__defaults__ = (1e9, 1e9, False)
numpy.testing.assert_allclose.__defaults__ = (1e9, 1e9, False, "", True)
def linear_update(mean, cov, x, reward, noise_var):
    return numpy.zeros(2), numpy.eye(2)
"""

# a swap inside the grader's own runner: the function that runs the cases, in its closure
PATCH_RUNNER_CLOSURE = r"""
import sys
def everything_passes(cases, env, **kwargs):
    return [{"name": c["name"], "passed": True, "kind": "passed", "message": ""} for c in cases]
for name in dir(sys):
    f = getattr(sys, name)
    if getattr(f, "__name__", "") == "runner" and getattr(f, "__closure__", None):
        for var, cell in zip(f.__code__.co_freevars, f.__closure__):
            if var == "run":
                cell.cell_contents = everything_passes
def beta_update(alpha, beta, rewards):
    return (0.0, 0.0)
"""

LIAR = r"""
class Liar(float):  # a number that says yes to every comparison
    def __sub__(self, other):
        return 0.0
    __rsub__ = __sub__
    def __eq__(self, other):
        return True
    __hash__ = float.__hash__
def beta_update(alpha, beta, rewards):
    return Liar(0.0), Liar(0.0)
"""

FORK_BOMB = r"""
import os, time
kids = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        kids += 1
except OSError as e:
    raise RuntimeError(f"fork stopped after {kids} processes: {type(e).__name__}")
"""

MEMORY_FORK_BOMB = r"""
import os, time
for _ in range(8):
    if os.fork() == 0:
        try:
            block = bytearray(250 * 2**20)
            time.sleep(60)
        finally:
            os._exit(0)
time.sleep(20)
"""


def hostile_class(folder, outside, port):
    """The submissions, and the files a vandal would like to change."""
    victim = folder / "victim" / f"{EX01}.ipynb"
    write = lambda nb, student, name=EX01: (
        (folder / student).mkdir(parents=True, exist_ok=True),
        nbformat.write(nb, folder / student / f"{name}.ipynb"),
    )
    write(notebook("solutions"), "victim")
    secret_paths = [
        str(ROOT / "solutions"),
        str(ROOT / "exercises_src"),
        str(victim),
        str(outside),
        str(ROOT / ".git"),
        str(ROOT / "tests"),
        str(Path.home() / ".bash_history"),
    ]
    write(
        with_cell(
            notebook("exercises"),
            SNOOP.format(paths=", ".join(map(repr, secret_paths)), mark=MARK, outside=outside),
        ),
        "snoop",
    )
    targets = [
        str(victim),
        str(ROOT / "solutions" / f"{EX01}.ipynb"),
        str(outside / f"{MARK}-vandal.txt"),
        str(folder / "snoop" / f"{EX01}.ipynb"),
        str(Path.home() / f"{MARK}.txt"),
        str(outside.parent / "grades.csv"),
        str(ROOT / "bandit_lab" / f"{MARK}.py"),
    ]
    write(
        with_cell(
            notebook("exercises"),
            VANDAL.format(targets=", ".join(map(repr, targets)), port=port, mark=MARK),
        ),
        "vandal",
    )
    write(
        with_cell(
            notebook("exercises"),
            LINGER.format(
                mark=MARK,
                targets=", ".join(map(repr, [str(outside.parent / "grades.csv"), str(victim)])),
            ),
        ),
        "lingerer",
    )
    write(with_cell(notebook("exercises"), FORGE_RUNNER), "forger_runner")
    write(with_cell(notebook("exercises"), FORGE_FORMATTER), "forger_formatter")
    write(with_cell(notebook("exercises"), FORGE_PICKLE_AND_JSON), "forger_pickle")
    write(with_cell(notebook("exercises"), PATCH_RUNNERS), "runner_patcher")
    write(with_cell(notebook("exercises"), PATCH_BUILTINS), "builtins_patcher")
    write(with_cell(notebook("exercises", EX09), PATCH_NUMPY), "numpy_patcher", EX09)
    write(with_cell(notebook("exercises", EX05), PATCH_SCIPY), "scipy_patcher", EX05)
    write(with_cell(notebook("exercises", EX09), PATCH_DEFAULTS), "defaults_patcher", EX09)
    write(with_cell(notebook("exercises"), PATCH_RUNNER_CLOSURE), "closure_swapper")
    write(with_cell(notebook("solutions"), FILLER, after="ex01-q1-answer", cid="fill"), "filler")
    write(with_cell(notebook("exercises"), LIAR, after="ex01-q1-answer"), "liar")
    crasher = with_cell(
        notebook("solutions"), "import os\nos._exit(3)", after="ex01-q1-answer", cid="exit"
    )
    with_cell(crasher, "import ctypes\nctypes.string_at(0)", after="ex01-q2-answer", cid="segfault")
    write(crasher, "crasher")
    write(
        with_cell(
            notebook("solutions"), "while True:\n    print('spam ' * 2000)", after="ex01-q1-answer"
        ),
        "chatterbox",
    )
    hog = with_cell(
        notebook("solutions"), "block = bytearray(4 * 2**30)", after="ex01-q1-answer", cid="big"
    )
    with_cell(
        hog,
        "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))",
        after="ex01-q2-answer",
        cid="growing",
    )
    write(hog, "hog")
    write(
        with_cell(notebook("solutions"), FORK_BOMB, after="ex01-q1-answer", cid="forks"), "forker"
    )
    write(
        with_cell(notebook("solutions"), MEMORY_FORK_BOMB, after="ex01-q1-answer", cid="memforks"),
        "memory_forker",
    )
    return victim


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    folder, outside = base / "class", base / "outside"
    outside.mkdir()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    victim = hostile_class(folder, outside, port)
    victim_before = victim.read_bytes()
    solutions_before = {p.name: p.read_bytes() for p in (ROOT / "solutions").glob("*.ipynb")}
    out, feedback = base / "grades.csv", base / "feedback"
    os.environ["BANDIT_LAB_TEST_SECRET"] = "s3cret-" + MARK
    start = time.monotonic()
    try:
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
                "15",
                "--test-timeout",
                "15",
                "--deadline",
                "240",
                "--memory",
                "1G",
                "--max-output",
                "1M",
                "--processes",
                "64",
                "--disk",
                "200M",
                "--quiet",
            ]
        )
    finally:
        del os.environ["BANDIT_LAB_TEST_SECRET"]
    seconds = time.monotonic() - start
    sheet = out.read_bytes()
    connected = []
    try:
        connected.append(listener.accept())
    except OSError:
        pass
    listener.close()
    time.sleep(6)  # what a leftover process would wait before it struck
    with open(out, newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return dict(
        code=code,
        rows=rows,
        feedback=feedback,
        seconds=seconds,
        base=base,
        outside=outside,
        victim=victim,
        victim_before=victim_before,
        sheet=sheet,
        out=out,
        connected=connected,
        solutions_before=solutions_before,
    )


def notes(hostile, student):
    return hostile["rows"][student]["notes"]


def test_the_batch_finishes_and_grades_everyone(hostile):
    assert hostile["code"] == 0
    assert sorted(hostile["rows"]) == sorted(
        [
            "victim",
            "snoop",
            "vandal",
            "lingerer",
            "forger_runner",
            "forger_formatter",
            "forger_pickle",
            "runner_patcher",
            "builtins_patcher",
            "numpy_patcher",
            "scipy_patcher",
            "defaults_patcher",
            "closure_swapper",
            "filler",
            "liar",
            "crasher",
            "chatterbox",
            "hog",
            "forker",
            "memory_forker",
        ]
    )


def test_another_student_is_not_touched(hostile):
    assert hostile["victim"].read_bytes() == hostile["victim_before"]
    victim = hostile["rows"]["victim"]
    assert (victim["ex01.q1"], victim["ex01.q2"]) == ("3.0", "3.0")
    assert "ex01" not in victim["notes"], victim["notes"]


def test_nothing_is_written_outside_and_nothing_reaches_the_network(hostile):
    assert (
        f"cell {len(notebook('exercises').cells) + 1} (hostile) raised RuntimeError: reached nothing"
        in notes(hostile, "vandal")
    )
    assert not hostile["connected"], "a sandboxed kernel reached a port on the grader's loopback"
    assert not list(hostile["outside"].iterdir())
    assert not list(Path("/tmp").glob(f"{MARK}*")) and not list(Path.home().glob(f"{MARK}*"))
    assert {p.name: p.read_bytes() for p in (ROOT / "solutions").glob("*.ipynb")} == hostile[
        "solutions_before"
    ]


def test_solutions_hidden_tests_and_the_environment_are_out_of_reach(hostile):
    assert "raised RuntimeError: found nothing" in notes(hostile, "snoop"), notes(hostile, "snoop")
    assert hostile["rows"]["snoop"]["total"] == "0.0"


def test_a_process_left_behind_changes_nothing_after_the_grader_is_done(hostile):
    assert hostile["out"].read_bytes() == hostile["sheet"], "the grade sheet changed after grading"
    assert hostile["victim"].read_bytes() == hostile["victim_before"]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                assert MARK.encode() not in (entry / "cmdline").read_bytes(), (
                    "a leftover process is running"
                )
            except OSError:
                pass
    assert re.search(
        r"\(hostile\) left [1-9] process\(es\) running; they were stopped",
        notes(hostile, "lingerer"),
    )


@pytest.mark.parametrize(
    "student", ["forger_runner", "forger_formatter", "forger_pickle", "runner_patcher"]
)
def test_forged_results_and_patched_runners_earn_nothing_and_are_flagged(hostile, student):
    row = hostile["rows"][student]
    assert row["total"] == "0.0", row
    if student != "forger_pickle":  # pickle is not used at all; json is watched
        assert "scores 0" in row["notes"], row["notes"]
    report = (hostile["feedback"] / student / f"{EX01}.txt").read_text()
    assert "passed" not in report.replace("not answered", ""), report


def test_patched_builtins_and_numpy_earn_nothing_and_name_what_was_replaced(hostile):
    row = hostile["rows"]["builtins_patcher"]
    assert row["total"] == "0.0"
    assert (
        "q1 scores 0: the notebook replaced builtins.abs, which its tests rely on" in row["notes"]
    ), row["notes"]
    row = hostile["rows"]["numpy_patcher"]
    assert row["total"] == "0.0"
    assert "numpy.allclose" in row["notes"], row["notes"]


def test_patched_scipy_and_changed_defaults_earn_nothing(hostile):
    row = hostile["rows"]["scipy_patcher"]
    assert row["total"] == "0.0", row
    assert "scipy.integrate.quad" in row["notes"], row["notes"]
    row = hostile["rows"]["defaults_patcher"]
    assert row["total"] == "0.0", row
    assert "allclose._implementation.__defaults__" in row["notes"], row["notes"]


def test_a_swap_inside_the_runner_is_reported(hostile):
    row = hostile["rows"]["closure_swapper"]
    assert row["total"] == "0.0", row
    assert "runner.<run>" in row["notes"], row["notes"]


def test_files_written_without_end_cost_only_their_cell(hostile):
    row = hostile["rows"]["filler"]
    assert row["total"] == "6.0", row
    assert "(fill) stopped the kernel (its folder held more than 200M of files" in row["notes"]


def test_answers_that_lie_about_equality_earn_nothing(hostile):
    assert hostile["rows"]["liar"]["total"] == "0.0", hostile["rows"]["liar"]


def test_a_dying_kernel_costs_only_the_cell_that_killed_it(hostile):
    row = hostile["rows"]["crasher"]
    assert (row["ex01.q1"], row["ex01.q2"]) == ("3.0", "3.0"), row
    assert (
        "(exit) stopped the kernel (exit code 3); the notebook was run again without it"
        in row["notes"]
    )
    assert "(segfault) stopped the kernel (killed by SIGSEGV)" in row["notes"], row["notes"]


def test_endless_output_is_stopped(hostile):
    row = hostile["rows"]["chatterbox"]
    assert row["total"] == "6.0", row
    # interrupted; or, on a busy machine, stopped when the interrupt did not land in time
    assert re.search(
        r"printed more than 1 MiB and (was stopped \(endless output\?\)|did not stop when "
        r"interrupted; the notebook was run again without it)",
        row["notes"],
    ), row["notes"]


def test_memory_exhaustion_costs_only_its_cells(hostile):
    row = hostile["rows"]["hog"]
    assert row["total"] == "6.0", row
    assert "(big) raised MemoryError" in row["notes"], row["notes"]
    assert (
        "(growing) raised MemoryError" in row["notes"]
        or "(growing) stopped the kernel" in row["notes"]
    )
    row = hostile["rows"]["memory_forker"]
    assert row["total"] == "6.0", row
    assert "(memforks) stopped the kernel (its processes used" in row["notes"], row["notes"]


def test_a_fork_bomb_is_contained(hostile):
    row = hostile["rows"]["forker"]
    assert row["total"] == "6.0", row
    assert "(forks) raised RuntimeError: fork stopped after" in row["notes"], row["notes"]
    assert "(forks) left" in row["notes"]
