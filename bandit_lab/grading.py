"""Graded exercises: generate them with otter-grader, grade a class's notebooks without Docker.

Taught in exercises/ (nine notebooks); the instructor's guide is docs/instructors.md.

Three users, three entry points:

    grader.check("q1")                      a learner, inside an exercise: instant feedback
                                            from the public tests (otter's own client)
    bandit-lab grade SUBMISSIONS... --out grades.csv
                                            an instructor: grade a folder of notebooks against
                                            the public *and* hidden tests; one CSV row per
                                            student, one column per question, plus the total
    python -m bandit_lab.grading assign [--check]
                                            a maintainer: regenerate exercises/ (learners) and
                                            solutions/ (with hidden tests) from the masters in
                                            exercises_src/ with ``otter assign``

How grading works, and why it is not plain ``otter run``: for each submission the notebook
is executed in a fresh Python kernel by otter's own grading machinery (its
``GradingPreprocessor`` puts otter in grading mode and runs every question's tests after
the last cell), with three things ``otter run`` lacks:

- a per-cell timeout: a cell still running after ``--timeout`` seconds is interrupted and
  the rest of the notebook still runs (``otter run`` has no timeout at all, so one endless
  loop would stop the whole batch); each question's tests get ``--test-timeout`` seconds,
  so a learner's function that never returns costs that question's marks only; and a
  submission still running after ``--deadline`` seconds is stopped;
- every question is graded on the notebook's final state: the ``grader.check`` cells are
  skipped while grading, so moving a check cell above its answer costs nothing;
- the exercise is recognised from the notebook's metadata (otter writes the assignment
  name there), so a renamed file is still graded, and the cells a learner deleted or moved
  are reported by comparing cell ids with the handed-out notebook.

Submissions are graded in parallel threads (``--jobs``); each runs its own kernel process,
and any failure becomes a message on that student's row, never the end of the batch.
"""
from __future__ import annotations

import argparse
import csv
import difflib
import os
import re
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ExerciseKey",
    "Submission",
    "GradeResult",
    "assign",
    "load_keys",
    "find_submissions",
    "grade_notebook_file",
    "grade_many",
    "gradebook",
    "write_csv",
    "format_summary",
    "main",
]

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "exercises_src"
EXERCISES_DIR = ROOT / "exercises"
SOLUTIONS_DIR = ROOT / "solutions"

CELL_TIMEOUT = 60
NOTE_SEPARATOR = " | "  # between the notes of one student in the grade sheet
TEST_TIMEOUT = 60
DEADLINE = 600

_CHECK_CALL = re.compile(r"^(\s*)grader\s*\.\s*(check|check_all|export)\s*\(.*\)\s*;?\s*(#.*)?$")
_EXERCISE_STEM = re.compile(r"ex(\d{2})(_[a-z0-9_]+)?", re.IGNORECASE)


# -- generating exercises/ and solutions/ from the masters ------------------------------------

def _stable_ids(nb, master_ids, prefix):
    """Give the cells otter adds (init and check cells, with random ids) stable ids."""
    taken = set(master_ids)
    for i, cell in enumerate(nb.cells):
        if cell.get("id") in master_ids:
            continue
        src = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        check = re.match(r'grader\.check\("([^"]+)"\)', src.strip())
        if src.startswith("# Initialize Otter"):
            new = f"{prefix}-otter-init"
        elif check:
            new = f"{prefix}-{check.group(1)}-check"
        else:
            new = f"{prefix}-otter-cell-{i}"
        while new in taken:
            new += "-x"
        taken.add(new)
        cell["id"] = new
    return nb


# The "passed!" line otter shows for a passing check ends in a randomly chosen emoji. The
# solutions are executed by strict nbval, so their init cell seeds Python's ``random``: the
# same check then shows the same line on every run. (Learners' notebooks are left alone.)
_SOLUTION_SEED_LINE = 'import random; random.seed(0)  # the same "passed!" emoji on every run'


def _assign_one(master, workdir, *, execute=False):
    """Run ``otter assign`` on one master; return (learner notebook, solution notebook) text.

    With ``execute=True`` both are executed top to bottom in a fresh kernel, in the folder
    otter wrote them to (so ``grader.check`` finds the notebook it reads its tests from).
    """
    import nbformat
    from otter.assign import main as otter_assign

    out = Path(workdir) / master.stem
    otter_assign(str(master), str(out), no_run_tests=True, no_pdfs=True)
    master_ids = {c.get("id") for c in nbformat.read(master, as_version=4).cells}
    texts = []
    for sub in ("student", "autograder"):
        path = out / sub / master.name
        nb = nbformat.read(path, as_version=4)
        m = _EXERCISE_STEM.match(master.stem)
        _stable_ids(nb, master_ids, f"ex{m.group(1)}" if m else master.stem)
        if sub == "autograder":
            init = next(c for c in nb.cells if c.source.startswith("# Initialize Otter"))
            init.source = init.source.rstrip("\n") + "\n" + _SOLUTION_SEED_LINE
        if execute:
            nbformat.write(nb, path)
            _execute(nb, path.parent)
        texts.append(nbformat.writes(nb) + "\n")
    return tuple(texts)


def _execute(nb, folder, timeout=120):
    """Execute ``nb`` in place in a fresh ``python3`` kernel whose working folder is ``folder``."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def _up_to_date(path, text):
    """Whether the notebook at ``path`` is ``text`` up to what executing adds, and executed."""
    import nbformat

    if not path.exists():
        return False
    old = path.read_text(encoding="utf-8")
    executed = all(c.execution_count is not None for c in nbformat.reads(old, as_version=4).cells
                   if c.cell_type == "code" and c.source.strip())
    return executed and _comparable(old) == _comparable(text)


def _comparable(text):
    """A notebook's text without what executing it adds (outputs, counts, the kernel's
    language_info)."""
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    nb.metadata.pop("language_info", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(nb)


def assign(names=None, *, source=SOURCE_DIR, exercises=EXERCISES_DIR, solutions=SOLUTIONS_DIR,
           check=False, force=False):
    """Generate the learner and solution notebooks from the master notebooks.

    Parameters
    ----------
    names : list of str, optional
        Master notebook stems (``"ex01_beta_update"``); default: every master in ``source``.
    source, exercises, solutions : path
        Where the masters are, and where the learner and solution notebooks go.
    check : bool
        Write nothing; report which generated files differ from the ones on disk. Outputs
        and execution counts are not compared (they are what executing adds; the
        solutions' outputs are compared by nbval when the test suite runs them). A file
        that was never executed counts as out of date.
    force : bool
        Execute and write every notebook, even those that are up to date (for instance
        after a change to ``bandit_lab`` that changes what they print).

    Returns
    -------
    list of Path
        The files written (or, with ``check=True``, the files that are out of date).

    Without ``check``, the generated notebooks are executed top to bottom in a fresh kernel
    before they are written, so they are committed with their outputs; a file whose
    sources and metadata did not change is left as it is.
    """
    source, exercises, solutions = Path(source), Path(exercises), Path(solutions)
    masters = sorted(source.glob("ex*.ipynb"))
    if names:
        wanted = set(names)
        masters = [m for m in masters if m.stem in wanted or m.name in wanted]
        missing = wanted - {m.stem for m in masters} - {m.name for m in masters}
        if missing:
            raise ValueError(f"names == {sorted(missing)!r}, must be masters in {source}.")
    if not masters:
        raise ValueError(f"source == {str(source)!r} holds no master notebooks (ex*.ipynb).")
    changed = []
    with tempfile.TemporaryDirectory(prefix="bandit-lab-assign-") as tmp:
        for master in masters:
            texts = _assign_one(master, tmp)
            targets = [folder / master.name for folder in (exercises, solutions)]
            stale = [t for t, text in zip(targets, texts) if force or not _up_to_date(t, text)]
            if stale and not check:
                texts = _assign_one(master, Path(tmp) / "executed", execute=True)
                for target, text in zip(targets, texts):
                    if target in stale:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_text(text, encoding="utf-8")
            changed += stale
        if not names and check:
            expected = {m.name for m in masters}
            for folder in (exercises, solutions):
                changed += [p for p in sorted(folder.glob("*.ipynb")) if p.name not in expected]
    return changed


# -- what a submission is graded against -------------------------------------------------------

@dataclass
class ExerciseKey:
    """Everything needed to grade one exercise, read from solutions/ and exercises/."""

    name: str
    questions: dict  # question -> points possible, in notebook order
    tests: dict  # question -> otter test file source (public and hidden test cases)
    cell_ids: list  # cell ids of the handed-out notebook, in order

    @property
    def short(self):
        m = _EXERCISE_STEM.match(self.name)
        return f"ex{m.group(1)}" if m else self.name

    @property
    def possible(self):
        return sum(self.questions.values())


def _test_points(source):
    from otter.test_files import ExceptionTestFile

    return ExceptionTestFile.from_string(source).possible


def load_keys(solutions=SOLUTIONS_DIR, exercises=EXERCISES_DIR):
    """Read the grading key of every exercise: ``{name: ExerciseKey}``."""
    import nbformat

    keys = {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        meta = nb.metadata.get("otter", {})
        tests = dict(meta.get("tests", {}))
        if not tests:
            continue
        name = meta.get("assignment_name") or path.stem
        handed_out = Path(exercises) / path.name
        src = nbformat.read(handed_out, as_version=4) if handed_out.exists() else nb
        keys[name] = ExerciseKey(name, {q: _test_points(t) for q, t in tests.items()}, tests,
                                 [c.get("id") for c in src.cells])
    if not keys:
        raise ValueError(f"solutions == {str(solutions)!r} holds no otter solution notebooks; "
                         "run `python -m bandit_lab.grading assign` first.")
    return keys


# -- finding the submissions -------------------------------------------------------------------

@dataclass
class Submission:
    """One notebook handed in, and the student it belongs to."""

    path: Path
    student: str


def _student_from_stem(stem, fallback):
    name = _EXERCISE_STEM.sub("", stem)
    name = re.sub(r"[\s_.\-]+", " ", name).strip().replace(" ", "_")
    return name or fallback


def find_submissions(paths):
    """Every notebook under ``paths`` (files or folders), with the student it belongs to.

    A notebook in a sub-folder of a given folder belongs to that sub-folder's student
    (``submissions/alice/ex01_beta_update.ipynb`` -> ``alice``); a notebook directly in it,
    or given as a file, to its file name minus the exercise's name
    (``alice_ex01_beta_update.ipynb`` -> ``alice``), or, when nothing is left, to its folder.
    """
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            for nb in sorted(p.rglob("*.ipynb")):
                if ".ipynb_checkpoints" in nb.parts:
                    continue
                rel = nb.relative_to(p)
                student = rel.parts[0] if len(rel.parts) > 1 else _student_from_stem(
                    nb.stem, p.resolve().name)
                found.append(Submission(nb, student))
        elif p.is_file():
            found.append(Submission(p, _student_from_stem(p.stem, p.resolve().parent.name)))
        else:
            raise FileNotFoundError(f"submission path {str(p)!r} does not exist.")
    return found


# -- grading one notebook ----------------------------------------------------------------------

@dataclass
class GradeResult:
    """The grade of one submission: points per question, and what went wrong."""

    student: str
    path: Path
    exercise: str | None
    scores: dict = field(default_factory=dict)  # question -> points earned
    notes: list = field(default_factory=list)  # what went wrong, in a sentence each
    feedback: str = ""  # otter's per-question test report (public and hidden)
    seconds: float = 0.0

    @property
    def total(self):
        return sum(self.scores.values())


def _identify(nb, path, keys):
    """(exercise name or None, note or None)."""
    meta = nb.get("metadata", {}).get("otter", {}) if isinstance(nb, dict) else {}
    name = meta.get("assignment_name") if isinstance(meta, dict) else None
    by_file = [k for k in keys if k == path.stem]
    if name not in keys:
        m = _EXERCISE_STEM.search(path.stem)
        guess = [k for k in keys if m and k.startswith(f"ex{m.group(1)}")]
        by_ids = []
        if isinstance(nb, dict) and nb.get("cells"):
            ids = {c.get("id") for c in nb["cells"]}
            overlap = {k: len(ids & set(key.cell_ids)) for k, key in keys.items()}
            best = max(overlap.values())
            if best >= 3:
                by_ids = [k for k, v in overlap.items() if v == best]
        for candidates in (by_file, guess, by_ids):
            if len(candidates) == 1:
                name = candidates[0]
                break
        else:
            return None, (f"could not tell which exercise {path.name!r} is (no otter metadata, "
                          "no exercise name in the file name), not graded")
    if name not in path.stem:
        return name, f"file renamed: {path.name!r} graded as {name}"
    return name, None


def _structure_notes(nb, key):
    notes = []
    ids = [c.get("id") for c in nb.cells]
    expected = [i for i in key.cell_ids if i]
    if expected and not set(ids) & set(expected):
        return ["its cells carry none of the handed-out cell ids (saved by an old Jupyter, or "
                "copied into a new notebook?), so deleted or moved cells were not checked"]
    present = [i for i in ids if i in set(expected)]
    missing = [i for i in expected if i not in set(ids)]
    if missing:
        shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
        notes.append(f"{len(missing)} cell(s) deleted ({shown}), graded without them")
    order = {cid: k for k, cid in enumerate(expected)}
    seq = [order[i] for i in present]
    matcher = difflib.SequenceMatcher(a=sorted(seq), b=seq, autojunk=False)
    kept = {seq[j] for block in matcher.get_matching_blocks() for j in range(block.b, block.b + block.size)}
    moved = [expected[s] for s in seq if s not in kept]
    if moved:
        shown = ", ".join(moved[:6]) + (" ..." if len(moved) > 6 else "")
        notes.append(f"cell(s) moved out of order ({shown}), graded in the order submitted")
    return notes


def _prepare(nb):
    """A copy to execute: outputs dropped, grader.check calls skipped, cells numbered."""
    import copy

    nb = copy.deepcopy(nb)
    for k, cell in enumerate(nb.cells):
        cell.metadata["bandit_lab_cell"] = k
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        lines = cell.source.splitlines()
        for j, line in enumerate(lines):
            m = _CHECK_CALL.match(line)
            if m:
                lines[j] = f"{m.group(1)}pass  # {line.strip()}: graded after the last cell"
        cell.source = "\n".join(lines)
    return nb


def _imported_modules(nb):
    """The modules a notebook imports (``import a.b``, ``from a import b``), in order."""
    import ast

    names = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return list(dict.fromkeys(names))


# Imports the submission's modules before any of its cells is timed, so that the time a busy
# machine takes to import numpy or matplotlib is never mistaken for an endless loop. Only
# installed modules are imported here; anything else is left to the learner's own cell.
_WARM_UP_CELL = '''\
import importlib as _bl_importlib
import importlib.util as _bl_util
import os as _bl_os

for _bl_name in {modules!r}:
    try:
        _bl_spec = _bl_util.find_spec(_bl_name.split(".")[0])
        if _bl_spec is not None and not str(_bl_spec.origin or "").startswith(_bl_os.getcwd()):
            _bl_importlib.import_module(_bl_name)
    except Exception:
        pass
'''


_TEST_LIMIT_CELL = '''\
import signal as _bl_signal
from otter.test_files.abstract_test import TestCaseResult as _BLResult
from otter.test_files.exception_test import ExceptionTestFile as _BLTestFile

def _bl_too_slow(signum, frame):
    raise TimeoutError("stopped after {limit} s: does the code it tests ever finish?")

_bl_run = _BLTestFile.run

def _bl_run_with_limit(self, global_environment):
    _bl_signal.signal(_bl_signal.SIGALRM, _bl_too_slow)
    _bl_signal.setitimer(_bl_signal.ITIMER_REAL, {limit}, {limit})
    try:
        _bl_run(self, global_environment)
    except TimeoutError as e:
        for tc in self.test_cases[len(self.test_case_results):]:
            self.test_case_results.append(_BLResult(test_case=tc, passed=False,
                                                   message=f"Test case failed: {{e}}"))
    finally:
        _bl_signal.setitimer(_bl_signal.ITIMER_REAL, 0)

if hasattr(_bl_signal, "setitimer"):  # POSIX; elsewhere only --deadline bounds the tests
    _BLTestFile.run = _bl_run_with_limit
'''


def _executor_class():
    from nbclient.util import run_sync
    from nbconvert.preprocessors import ExecutePreprocessor

    class _Executor(ExecutePreprocessor):
        """otter's executor plus a watchdog that kills the kernel at the deadline."""

        deadline = None
        killed = False
        kernel_log = None

        async def async_start_new_kernel(self, **kwargs):
            if self.kernel_log is not None:  # the kernel's own stderr: kept out of the terminal
                kwargs.setdefault("stdout", self.kernel_log)
                kwargs.setdefault("stderr", self.kernel_log)
            await super().async_start_new_kernel(**kwargs)
            pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
            if pid is None:
                proc = getattr(getattr(self.km, "provisioner", None), "process", None)
                pid = getattr(proc, "pid", None)
            if self.deadline and pid:
                def kill():
                    self.killed = True
                    try:
                        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
                    except OSError:
                        pass
                self._watchdog = threading.Timer(self.deadline, kill)
                self._watchdog.daemon = True
                self._watchdog.start()

        # nbclient binds its sync wrapper to the base coroutine: rebind it to this one
        start_new_kernel = run_sync(async_start_new_kernel)

        def stop_watchdog(self):
            dog = getattr(self, "_watchdog", None)
            if dog is not None:
                dog.cancel()

    return _Executor


def _cell_label(cell):
    cid = cell.get("id")
    k = cell.metadata.get("bandit_lab_cell")
    return f"cell {k + 1}" + (f" ({cid})" if cid else "")


def _last_line(path):
    try:
        lines = [ln for ln in Path(path).read_text(errors="replace").splitlines()
                 if ln.strip() and "without encryption" not in ln]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def _error_notes(nb, cell_timeout):
    notes = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "bandit_lab_cell" not in cell.metadata:
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if out.get("ename") == "KeyboardInterrupt":
                notes.append(f"{_cell_label(cell)} was stopped after {cell_timeout:g} s "
                             "(an endless loop?), the cells after it still ran")
            else:
                value = str(out.get("evalue", "")).strip().splitlines()
                value = re.sub(r"\(\d+\.py, line (\d+)\)", r"(line \1)", value[0][:160]) if value else ""
                notes.append(f"{_cell_label(cell)} raised {out.get('ename')}: {value}")
    return notes


def grade_notebook_file(path, key, *, student="", cell_timeout=CELL_TIMEOUT,
                        test_timeout=TEST_TIMEOUT, deadline=DEADLINE, notebook=None):
    """Execute one submitted notebook and grade it against ``key``; never raises.

    Returns a :class:`GradeResult` whose ``scores`` has every question of the exercise
    (0 where nothing was earned) and whose ``notes`` say, one sentence each, what went
    wrong: cells that raised or were stopped, deleted or moved cells, a renamed file.
    """
    import nbformat

    start = time.monotonic()
    path = Path(path)
    result = GradeResult(student, path, key.name, {q: 0.0 for q in key.questions})
    try:
        nb = notebook if notebook is not None else nbformat.read(path, as_version=4)
        result.notes += _structure_notes(nb, key)
        _execute_and_grade(nb, key, result, cell_timeout, test_timeout, deadline)
    except Exception as exc:  # a broken submission must never stop the batch
        result.notes.append(f"could not grade: {type(exc).__name__}: {exc}")
    result.seconds = time.monotonic() - start
    return result


def _execute_and_grade(nb, key, result, cell_timeout, test_timeout, deadline):
    import pickle

    import nbformat
    from otter.execute.logging import start_server
    from otter.execute.preprocessor import GradingPreprocessor
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="bandit-lab-grade-") as tmp, \
            tempfile.TemporaryDirectory(prefix="bl-kernel-") as sockets:
        work = Path(tmp)
        (work / "tests").mkdir()
        for q, source in key.tests.items():
            (work / "tests" / f"{q}.py").write_text(source, encoding="utf-8")
        nbformat.write(nb, work / f"{key.name}.ipynb")  # the name otter's init cell opens
        results_path = work / "results.pkl"
        runnable = _prepare(nb)

        c = Config()
        (host, port), stop_server = start_server()
        executor = None
        try:
            c.GradingPreprocessor.cwd = str(work)
            c.GradingPreprocessor.test_dir = "./tests"
            c.GradingPreprocessor.tests_glob = [f"./tests/{q}.py" for q in key.tests]
            c.GradingPreprocessor.results_path = str(results_path)
            c.GradingPreprocessor.seed = None
            c.GradingPreprocessor.seed_variable = None
            c.GradingPreprocessor.otter_log = None
            c.GradingPreprocessor.variables = None
            c.GradingPreprocessor.logging_server_host = host
            c.GradingPreprocessor.logging_server_port = port
            c.GradingPreprocessor.force_python3_kernel = True
            warm_up = nbformat.v4.new_code_cell(_WARM_UP_CELL.format(modules=_imported_modules(nb)))
            runnable.cells.insert(0, warm_up)
            runnable, _ = GradingPreprocessor(config=c).preprocess(runnable)
            limit = nbformat.v4.new_code_cell(_TEST_LIMIT_CELL.format(limit=int(test_timeout)))
            runnable.cells.insert(len(runnable.cells) - 1, limit)

            def timeout_for(cell):
                # Only the submission's own cells are timed. otter's set-up and the imports
                # are not (a busy machine must not cost marks), and the tests are bounded
                # per question by the SIGALRM limit instead; the deadline bounds it all.
                return cell_timeout if "bandit_lab_cell" in cell.metadata else None

            kernel_config = Config()
            if os.name == "posix":
                # Unix sockets: a loopback port that was free when picked can be taken by
                # another process before the kernel binds it (the kernel then dies, "Address
                # already in use"), and the student would lose the marks
                kernel_config.KernelManager.transport = "ipc"
                kernel_config.KernelManager.ip = str(Path(sockets) / "k")
            executor = _executor_class()(
                config=kernel_config, timeout_func=timeout_for, interrupt_on_timeout=True,
                allow_errors=True, kernel_name="python3", iopub_timeout=10,
                raise_on_iopub_timeout=False)
            executor.deadline = deadline
            log_path = work / "kernel.log"
            try:
                with open(log_path, "wb") as log:
                    executor.kernel_log = log
                    executor.preprocess(runnable, {"metadata": {"path": str(work)}})
            except Exception as exc:
                if executor.killed:
                    result.notes.append(f"stopped after {deadline:g} s in total (--deadline), "
                                        "the questions not yet graded score 0")
                else:
                    last = _last_line(log_path)
                    result.notes.append(f"the kernel stopped: {type(exc).__name__}: {exc}"
                                        + (f" (its last words: {last})" if last else ""))
        finally:
            if executor is not None:
                executor.stop_watchdog()
            stop_server()
        result.notes += _error_notes(runnable, cell_timeout)

        if results_path.exists():
            with open(results_path, "rb") as f:
                graded = pickle.load(f)
            for q in key.questions:
                if q in graded.results:
                    result.scores[q] = float(graded.get_score(q))
            result.feedback = graded.summary()
        elif not any(n.startswith("stopped after") for n in result.notes):
            result.notes.append("the tests never ran (the notebook did not reach its end)")


# -- grading a batch ---------------------------------------------------------------------------

def grade_many(submissions, keys, *, jobs=None, cell_timeout=CELL_TIMEOUT,
               test_timeout=TEST_TIMEOUT, deadline=DEADLINE, progress=None):
    """Grade every submission, ``jobs`` at a time; one :class:`GradeResult` each, in order."""
    import nbformat

    jobs = jobs or min(os.cpu_count() or 1, 4)
    results = [None] * len(submissions)

    def one(sub):
        try:
            nb = nbformat.read(sub.path, as_version=4)
        except Exception as exc:
            name, note = _identify({}, sub.path, keys)
            r = GradeResult(sub.student, sub.path, name,
                            {q: 0.0 for q in keys[name].questions} if name else {})
            r.notes.append(f"{sub.path.name!r} is not a readable notebook "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0][:100]})")
            return r
        name, note = _identify(nb, sub.path, keys)
        if name is None:
            return GradeResult(sub.student, sub.path, None, notes=[note])
        r = grade_notebook_file(sub.path, keys[name], student=sub.student, notebook=nb,
                                cell_timeout=cell_timeout, test_timeout=test_timeout,
                                deadline=deadline)
        if note:
            r.notes.insert(0, note)
        return r

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(one, s): i for i, s in enumerate(submissions)}
        for done, fut in enumerate(as_completed(futures), 1):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except Exception as exc:  # pragma: no cover - one() catches everything it can
                s = submissions[i]
                results[i] = GradeResult(s.student, s.path, None,
                                         notes=[f"could not grade: {type(exc).__name__}: {exc}"])
            if progress:
                progress(done, len(submissions), results[i])
    return results


def gradebook(results, keys):
    """(columns, rows): one row per student, one column per question, plus total and notes.

    Columns are ``student``, ``exNN.qK`` for every question of every exercise that anyone
    submitted, ``total`` and ``notes``. A student who submitted an exercise twice keeps the
    better grade; one who did not submit it scores 0 there, with a note.

    Examples
    --------
    >>> key = ExerciseKey("ex01_beta_update", {"q1": 3, "q2": 3}, {}, [])
    >>> graded = GradeResult("alice", Path("ex01_beta_update.ipynb"), key.name, {"q1": 3.0, "q2": 1.0})
    >>> columns, rows = gradebook([graded], {key.name: key})
    >>> columns
    ['student', 'ex01.q1', 'ex01.q2', 'total', 'notes']
    >>> print(format_summary(columns, rows, {key.name: key}))
    student  ex01  total
    -------  ----  -----
    alice    4/6   4/6
    """
    exercises = [k for k in keys if any(r.exercise == k for r in results)]
    columns = ["student"] + [f"{keys[e].short}.{q}" for e in exercises for q in keys[e].questions]
    columns += ["total", "notes"]
    students = list(dict.fromkeys(r.student for r in results))
    rows = []
    for student in students:
        mine = [r for r in results if r.student == student]
        row = {"student": student}
        notes = []
        total = 0.0
        for e in exercises:
            subs = [r for r in mine if r.exercise == e]
            best = max(subs, key=lambda r: r.total) if subs else None
            if best is None:
                notes.append(f"{keys[e].short}: not submitted")
            elif len(subs) > 1:
                others = ", ".join(r.path.name for r in subs if r is not best)
                notes.append(f"{keys[e].short}: {len(subs)} submissions, kept the best "
                             f"({best.path.name}, also {others})")
            for q in keys[e].questions:
                score = best.scores.get(q, 0.0) if best else 0.0
                row[f"{keys[e].short}.{q}"] = score
                total += score
            if best is not None:
                notes += [f"{keys[e].short}: {n}" for n in best.notes]
        for r in mine:
            if r.exercise is None:
                notes += r.notes
        row["total"] = total
        row["notes"] = NOTE_SEPARATOR.join(notes)
        rows.append(row)
    return columns, rows


def _fmt(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


def write_csv(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for row in rows:
            w.writerow({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()})


def format_summary(columns, rows, keys):
    """A plain-text table: one line per student, a column per exercise, then the notes."""
    exercises = [k for k in keys if any(c.startswith(keys[k].short + ".") for c in columns)]
    head = ["student"] + [keys[e].short for e in exercises] + ["total"]
    possible = sum(keys[e].possible for e in exercises)
    table = []
    for row in rows:
        cells = [row["student"]]
        for e in exercises:
            got = sum(row[f"{keys[e].short}.{q}"] for q in keys[e].questions)
            cells.append(f"{_fmt(round(got, 2))}/{_fmt(keys[e].possible)}")
        cells.append(f"{_fmt(round(row['total'], 2))}/{_fmt(possible)}")
        table.append(cells)
    widths = [max(len(str(r[i])) for r in [head] + table) for i in range(len(head))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(head, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in table]
    noted = [(row["student"], row["notes"]) for row in rows if row["notes"]]
    if noted:
        lines.append("")
        lines.append("Notes:")
        for student, text in noted:
            for note in text.split(NOTE_SEPARATOR):
                lines.append(f"  {student}: {note}")
    return "\n".join(lines)


def _write_feedback(folder, results):
    folder = Path(folder)
    for r in results:
        target = folder / r.student / f"{r.exercise or r.path.stem}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = [f"{r.path.name}: {r.exercise or 'not recognised'}",
                f"score: {_fmt(round(r.total, 2))}" if r.exercise else ""]
        text += [f"note: {n}" for n in r.notes]
        text += ["", r.feedback]
        target.write_text("\n".join(text).strip() + "\n", encoding="utf-8")


# -- the command line --------------------------------------------------------------------------

def _grade_parser():
    p = argparse.ArgumentParser(
        prog="bandit-lab grade",
        description="Grade learners' exercise notebooks with the public and hidden tests, "
                    "without Docker. Prints a summary table; --out writes the grade sheet.")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSIONS",
                   help="notebooks, or folders of them (one sub-folder per student, or files "
                        "named like alice_ex01_beta_update.ipynb)")
    p.add_argument("--out", metavar="CSV", help="write the grade sheet here (one row per student)")
    p.add_argument("--feedback", metavar="DIR",
                   help="write each student's per-question test report to DIR/STUDENT/EXERCISE.txt")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="notebooks graded at once (default: the number of cores, at most 4)")
    p.add_argument("--timeout", type=float, default=CELL_TIMEOUT,
                   help=f"seconds a cell may run before it is interrupted (default {CELL_TIMEOUT}, "
                        "whole seconds, at least 1)")
    p.add_argument("--test-timeout", type=float, default=TEST_TIMEOUT,
                   help=f"seconds one question's tests may run (default {TEST_TIMEOUT}, whole "
                        "seconds, at least 1)")
    p.add_argument("--deadline", type=float, default=DEADLINE,
                   help=f"seconds one notebook may take in all (default {DEADLINE})")
    p.add_argument("--key", metavar="DIR", default=str(SOLUTIONS_DIR),
                   help="folder of solution notebooks holding the tests (default: solutions/)")
    p.add_argument("--exercises", metavar="DIR", default=str(EXERCISES_DIR),
                   help="folder of the notebooks as handed out (default: exercises/)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    return p


def main(argv=None):
    """``bandit-lab grade SUBMISSIONS... [--out grades.csv]``; returns the exit code."""
    args = _grade_parser().parse_args(argv)
    for name in ("timeout", "test_timeout", "deadline"):
        if getattr(args, name) <= 0:
            print(f"bandit-lab grade: --{name.replace('_', '-')} == {getattr(args, name)}, "
                  "must be > 0.", file=sys.stderr)
            return 2
    try:
        keys = load_keys(args.key, args.exercises)
        subs = find_submissions(args.submissions)
    except (ValueError, FileNotFoundError) as exc:
        print(f"bandit-lab grade: {exc}", file=sys.stderr)
        return 2
    if not subs:
        print("bandit-lab grade: no notebooks (*.ipynb) found in "
              f"{' '.join(args.submissions)}.", file=sys.stderr)
        return 2

    def progress(done, total, r):
        if not args.quiet:
            what = (f"{_fmt(round(r.total, 2))}/{_fmt(sum(keys[r.exercise].questions.values()))}"
                    if r.exercise else "not graded")
            print(f"[{done}/{total}] {r.student} {r.path.name}: {what} ({r.seconds:.1f} s)",
                  file=sys.stderr, flush=True)

    results = grade_many(subs, keys, jobs=args.jobs, cell_timeout=max(1, round(args.timeout)),
                         test_timeout=max(1, round(args.test_timeout)), deadline=args.deadline,
                         progress=progress)
    columns, rows = gradebook(results, keys)
    if args.out:
        write_csv(args.out, columns, rows)
    if args.feedback:
        _write_feedback(args.feedback, results)
    print(format_summary(columns, rows, keys))
    if args.out:
        print(f"\nGrade sheet written to {args.out} ({len(rows)} student{'s' if len(rows) != 1 else ''}).")
    return 0


def _assign_main(argv):
    p = argparse.ArgumentParser(
        prog="python -m bandit_lab.grading assign",
        description="Regenerate exercises/ and solutions/ from the masters in exercises_src/ "
                    "with otter assign, and execute them (fresh kernel) so they are committed "
                    "with their outputs.")
    p.add_argument("names", nargs="*", help="master notebooks to do (default: all)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; fail if the committed files differ from what the "
                        "masters generate")
    p.add_argument("--force", action="store_true",
                   help="execute and rewrite every notebook, even those that are up to date")
    args = p.parse_args(argv)
    changed = assign(args.names or None, check=args.check, force=args.force)
    rel = [str(c.relative_to(ROOT)) if c.is_relative_to(ROOT) else str(c) for c in changed]
    if args.check:
        if changed:
            print("Out of date (run `python -m bandit_lab.grading assign`):\n  " + "\n  ".join(rel))
            return 1
        print("exercises/ and solutions/ match the masters.")
        return 0
    print("Written:\n  " + "\n  ".join(rel) if rel else "Nothing to do: already up to date.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    argv = sys.argv[1:]
    if argv and argv[0] == "assign":
        sys.exit(_assign_main(argv[1:]))
    if argv and argv[0] == "grade":
        argv = argv[1:]
    sys.exit(main(argv))
