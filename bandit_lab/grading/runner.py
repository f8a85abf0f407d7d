"""Grading one submission: its cells in a sandboxed kernel, then its tests, over the channel.

The order of events for one notebook:

1. a private working folder gets the submission's own copy (and nothing else);
2. a kernel starts in its sandbox (:mod:`.sandbox`), and before any learner cell the grader
   sends it :mod:`.kernel_side`, which captures what the tests rely on;
3. the learner's cells run one by one (``grader.check`` calls skipped), each with a time
   limit, an output limit and a memory watch; a cell that kills the kernel (an exit, a crash,
   memory) is noted, a fresh kernel is started and the notebook runs again without it;
4. processes a cell left behind are stopped after it;
5. only then are the tests sent, one question at a time with a fresh nonce, and the kernel
   answers with plain JSON that the grader parses and checks: the nonce, the question, the
   test cases it was sent. The marks come from the grader's copy of the points. A question
   whose tests rely on something the notebook replaced scores 0, with a note.

Nothing a kernel sends is unpickled or executed here; the tests never touch its disk.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .gradebook import NO_SANDBOX_NOTE, GradeResult
from .kernel import DISK_ENTRIES, Kernel
from .results import parse, score
from .sandbox import Limits, private_folder, size_text
from .submissions import cell_label, imported_modules, prepare, structure_notes

__all__ = ["Settings", "Piece", "grade_piece", "CELL_TIMEOUT", "TEST_TIMEOUT", "DEADLINE"]

CELL_TIMEOUT = 60
TEST_TIMEOUT = 60
DEADLINE = 600
MAX_STARTS = 6  # kernels one notebook may use (a dying cell costs a restart)
STARTUP = 120  # seconds a kernel may take to answer its first request
GRACE = 5  # seconds an interrupted cell has to stop before its kernel is killed
WATCH_EVERY = 0.25  # seconds between looks at the sandbox's memory
_PRELOAD = ("numpy", "numpy.testing", "numpy.linalg", "numpy.random", "scipy.stats", "math")


@dataclass(frozen=True)
class Settings:
    """How every submission of a batch is graded."""

    cell_timeout: float = CELL_TIMEOUT
    test_timeout: float = TEST_TIMEOUT
    deadline: float = DEADLINE
    limits: Limits = field(default_factory=Limits)
    sandbox: bool = True
    hide: tuple = ()  # folders the sandbox must not show, should they lie in a bound folder


@dataclass
class Piece:
    """One submission as a worker receives it: already read, already identified."""

    student: str
    path: Path
    text: str
    key: object  # ExerciseKey
    settings: Settings
    notes: list = field(default_factory=list)  # from identifying it (a renamed file)


class _Stop(Exception):
    """The whole notebook is stopped (its deadline passed, or no kernel would start)."""


@dataclass
class _Outcome:
    reply: dict | None = None
    died: str = ""  # why the kernel is gone, if it is
    stopped: str = ""  # why the request was interrupted (time, output)
    stuck: str = ""  # the same, for a request that then ignored the interrupt
    errors: list = field(default_factory=list)  # (ename, evalue)


def grade_piece(piece):
    """Grade one submission; never raises. A module-level function: workers pickle it."""
    import nbformat

    start = time.monotonic()
    key = piece.key
    result = GradeResult(
        piece.student,
        Path(piece.path),
        key.name,
        {q: 0.0 for q in key.questions},
        list(piece.notes),
    )
    if not piece.settings.sandbox:
        result.notes.append(NO_SANDBOX_NOTE)
    try:
        nb = nbformat.reads(piece.text, as_version=4)
        result.notes += structure_notes(nb, key)
        _Grading(nb, piece, result).run()
    except Exception as exc:  # a broken submission must never stop the batch
        result.notes.append(f"could not grade: {type(exc).__name__}: {exc}")
    result.seconds = time.monotonic() - start
    return result


class _Grading:
    def __init__(self, nb, piece, result):
        self.nb, self.key, self.result = nb, piece.key, result
        self.settings = s = piece.settings
        self.runnable = prepare(nb)
        self.cells = [c for c in self.runnable.cells if c.cell_type == "code" and c.source.strip()]
        self.excluded = {}  # cell index -> why it was left out
        self.deadline_at = time.monotonic() + s.deadline
        self.kernel = self.client = None
        self.attr = "_" + secrets.token_hex(8)
        self.secret = secrets.token_hex(32)  # signs the results; only runner and grader know it
        self.text = piece.text
        self.name = f"{self.key.name}.ipynb"

    # -- the whole notebook ----------------------------------------------------------------

    def run(self):
        self.work = private_folder()
        try:
            cell_notes = self._run_cells()
            self.result.notes += cell_notes
            self._grade_questions()
        except _Stop as stop:
            self.result.notes.append(str(stop))
        finally:
            self._stop_kernel()
            shutil.rmtree(self.work, ignore_errors=True)
            log = Path(str(self.work) + ".log")
            if log.exists():
                log.unlink()

    def _run_cells(self, quiet=False):
        """Run every cell not left out; restart without a cell that kills the kernel.

        Returns the notes of the last complete pass (those of a pass cut short by a dying
        cell would repeat)."""
        while True:
            self._start_kernel()
            notes, killer = [], None
            for cell in self.cells:
                k = cell.metadata["bandit_lab_cell"]
                if k in self.excluded:
                    continue
                out = self._execute(cell.source, self.settings.cell_timeout)
                label = cell_label(cell)
                if out.died:
                    what = (
                        f"{out.stuck} and did not stop when interrupted"
                        if out.stuck
                        else f"stopped the kernel ({out.died})"
                    )
                    killer = (k, f"{label} {what}; the notebook was run again without it")
                    break
                if out.stopped:
                    notes.append(f"{label} {out.stopped}, the cells after it still ran")
                for ename, evalue in out.errors:
                    if ename == "KeyboardInterrupt" and out.stopped:
                        continue
                    notes.append(f"{label} raised {ename}: {_short(evalue)}")
                left = self.kernel.kill_others()
                if left:
                    notes.append(f"{label} left {left} process(es) running; they were stopped")
            if killer is None:
                return [] if quiet else notes
            self.excluded[killer[0]] = killer[1]
            self.result.notes.append(killer[1])

    def _grade_questions(self):
        lines = []
        for q in self.key.questions:
            if self.kernel is None or not self.kernel.alive():
                self._run_cells(quiet=True)  # a fresh kernel, the same cells
            cases = self.key.cases(q)
            nonce = secrets.token_hex(16)
            payload = json.dumps(
                {
                    "nonce": nonce,
                    "question": q,
                    "timeout": self.settings.test_timeout,
                    "cases": [c.payload() for c in cases],
                }
            )
            expr = f"__import__('sys').{self.attr}({payload!r})"
            out = self._execute(
                "", self.settings.test_timeout + 10, silent=True, user_expressions={"r": expr}
            )
            got = None
            if out.died:
                self.result.notes.append(
                    f"the kernel stopped while {q}'s tests ran ({out.died}): {q} scores 0"
                )
                self._stop_kernel()
            elif out.stopped:
                self.result.notes.append(
                    f"{q}'s tests did not finish ({out.stopped}): {q} scores 0"
                )
            else:
                got, problem = parse(out.reply, nonce, q, cases, self.secret)
                if problem:
                    self.result.notes.append(f"{q}: {problem}: {q} scores 0")
                    self.result.flags.append(f"{q}: {problem}")
            lines += self._score(q, cases, got)
        self.result.feedback = "\n".join(lines)

    def _score(self, q, cases, got):
        """Marks for ``q`` from the grader's own points; the report's lines."""
        earned, why, lines = score(q, self.key.questions[q], cases, got)
        if why:
            self.result.notes.append(why)
            self.result.flags.append(why)
        self.result.scores[q] = earned
        return lines

    # -- one kernel ------------------------------------------------------------------------

    def _start_kernel(self):
        from jupyter_client import BlockingKernelClient

        self._stop_kernel()
        starts = getattr(self, "_starts", 0) + 1
        self._starts = starts
        if starts > MAX_STARTS:
            raise _Stop(f"gave up after {MAX_STARTS} kernels: the questions not yet graded score 0")
        for entry in list(self.work.iterdir()):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
        (self.work / self.name).write_text(self.text, encoding="utf-8")
        self.log = open(str(self.work) + ".log", "wb")
        s = self.settings
        self.kernel = Kernel(
            self.work, limits=s.limits, sandbox=s.sandbox, hide=s.hide, log=self.log
        )
        self.client = BlockingKernelClient()
        self.client.load_connection_file(self.kernel.connection_file)
        self.client.start_channels()
        msg_id = self.client.kernel_info()
        waited = time.monotonic()
        while True:
            reply = self._next(self.client.shell_channel, 0.1)
            if reply is not None and reply["parent_header"].get("msg_id") == msg_id:
                break
            if not self.kernel.alive() or time.monotonic() - waited > STARTUP:
                raise _Stop("could not start a kernel for it: " + self._last_words())
            self._check_deadline()
        self.kernel.find_kernel_pid()
        from . import kernel_side

        source = Path(kernel_side.__file__).read_text(encoding="utf-8")
        preload = list(dict.fromkeys([*_PRELOAD, *imported_modules(self.nb)]))
        watch = self._test_modules()
        source += f"\ninstall({self.attr!r}, {preload!r}, {self.secret!r}, {watch!r})\n"
        # its own copy of the builtins: a learner's builtins.abs = ... cannot reach the runner
        code = (
            f"exec(compile({source!r}, '<bandit-lab>', 'exec'), {{'__name__': "
            "'_bandit_lab_kernel', '__builtins__': dict(vars(__import__('builtins')))})"
        )
        out = self._execute(code, STARTUP, silent=True)
        if out.died or out.stopped or out.errors:
            raise _Stop(
                "the grader's set-up did not run in its kernel: "
                + (out.died or out.stopped or " ".join(map(str, out.errors[0])))
            )

    def _test_modules(self):
        """Every module the tests may import (``scipy.integrate`` for ``scipy.integrate.quad``):
        imported before the learner's cells, so the tests get copies taken then."""
        names = set()
        for q in self.key.questions:
            for case in self.key.cases(q):
                for use in case.uses:
                    parts = use.split(".")
                    if parts[0] != "builtins":
                        names.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))
        return sorted(names)

    def _stop_kernel(self):
        if self.client is not None:
            try:
                self.client.stop_channels()
            except Exception:
                pass
            self.client = None
        if self.kernel is not None:
            self.kernel.kill()
            self.kernel = None
            self.log.close()

    def _last_words(self):
        try:
            self.log.flush()
            lines = [
                ln
                for ln in Path(self.log.name).read_text(errors="replace").splitlines()
                if ln.strip() and "without encryption" not in ln
            ]
        except OSError:
            lines = []
        return lines[-1][:200] if lines else self.kernel.exit_reason()

    def _check_deadline(self):
        if time.monotonic() > self.deadline_at:
            self._stop_kernel()
            raise _Stop(
                f"stopped after {self.settings.deadline:g} s in total (--deadline), "
                "the questions not yet graded score 0"
            )

    @staticmethod
    def _next(channel, timeout):
        try:
            return channel.get_msg(timeout=timeout)
        except Exception:  # queue.Empty, or a message that does not deserialize
            return None

    def _execute(self, code, timeout, *, silent=False, user_expressions=None):
        """Run ``code``; watch time, output, memory and the kernel's life while it runs."""
        import zmq

        kc, kernel, limits = self.client, self.kernel, self.settings.limits
        msg_id = kc.execute(
            code,
            silent=silent,
            store_history=not silent,
            allow_stdin=False,
            stop_on_error=False,
            user_expressions=user_expressions or {},
        )
        out = _Outcome()
        poller = zmq.Poller()
        poller.register(kc.shell_channel.socket, zmq.POLLIN)
        poller.register(kc.iopub_channel.socket, zmq.POLLIN)
        began = watched = time.monotonic()
        interrupted, idle, replied_at, printed = None, False, None, 0
        while True:
            ready = dict(poller.poll(100))
            now = time.monotonic()
            if kc.iopub_channel.socket in ready:
                for _ in range(200):
                    msg = self._next(kc.iopub_channel, 0)
                    if msg is None:
                        break
                    if msg["parent_header"].get("msg_id") != msg_id:
                        continue
                    kind, content = msg["msg_type"], msg["content"]
                    if kind == "error":
                        out.errors.append((str(content.get("ename")), str(content.get("evalue"))))
                    elif kind == "status" and content.get("execution_state") == "idle":
                        idle = True
                    printed += (
                        len(json.dumps(content))
                        if kind
                        in ("stream", "display_data", "execute_result", "update_display_data")
                        else 0
                    )
            if kc.shell_channel.socket in ready:
                msg = self._next(kc.shell_channel, 0)
                if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
                    out.reply, replied_at = msg["content"], now
            if out.reply is not None and (idle or now - replied_at > 2):
                return out
            if not kernel.alive():
                out.died = kernel.exit_reason()
                return out
            if now - watched > WATCH_EVERY:
                watched = now
                used = kernel.memory()
                if used > limits.memory:
                    kernel.kill()
                    out.died = f"its processes used {used / 2**30:.1f} GiB of memory, more than the {limits.memory / 2**30:g} GiB allowed"
                    return out
                if kernel.disk_over(limits.disk):
                    kernel.kill()
                    out.died = (
                        f"its folder held more than {size_text(limits.disk)} of files (or more than "
                        f"{DISK_ENTRIES:,} of them) and it was stopped"
                    )
                    return out
            if now > self.deadline_at:
                self._check_deadline()
            if interrupted is None:
                if timeout and now - began > timeout:
                    out.stopped = f"was stopped after {timeout:g} s (an endless loop?)"
                    out.stuck = f"was still running after {timeout:g} s"
                elif printed > limits.output:
                    mib = f"{limits.output / 2**20:g} MiB"
                    out.stopped = f"printed more than {mib} and was stopped (endless output?)"
                    out.stuck = f"printed more than {mib}"
                if out.stopped:
                    interrupted = now
                    kernel.interrupt()
            elif now - interrupted > GRACE:
                kernel.kill()
                out.died = "it did not stop when interrupted"
                return out


def _short(text):
    lines = str(text).strip().splitlines()
    value = lines[0][:160] if lines else ""
    return re.sub(r"\([^()]*\.py, line (\d+)\)", r"(line \1)", value)
