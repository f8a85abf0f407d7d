"""``bandit-lab grade``: the instructor's command."""

from __future__ import annotations

import argparse
import re
import sys

from .batch import grade_many
from .gradebook import NO_SANDBOX_NOTE, _fmt, format_summary, gradebook, write_csv, write_feedback
from .keys import course_folders, load_keys
from .runner import CELL_TIMEOUT, DEADLINE, TEST_TIMEOUT
from .sandbox import Limits, SandboxUnavailable
from .sandbox import size_text as _size
from .submissions import find_submissions

__all__ = ["main", "parse_size"]

_DEFAULT = Limits()


def parse_size(text):
    """``"4G"``, ``"512M"``, ``"64k"`` or a number of bytes -> bytes.

    >>> parse_size("4G"), parse_size("512M"), parse_size("1000")
    (4294967296, 536870912, 1000)
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]?\s*", str(text))
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: write 4G, 512M, 64k or bytes")
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def _parser():
    p = argparse.ArgumentParser(
        prog="bandit-lab grade",
        description="Grade learners' exercise notebooks with the public and hidden tests, each "
        "in its own sandbox (bubblewrap). Prints a summary table; --out writes the "
        "grade sheet. Say where the tests are with --course or --key.",
    )
    p.add_argument(
        "submissions",
        nargs="+",
        metavar="SUBMISSIONS",
        help="notebooks, or folders of them (one sub-folder per student, or files "
        "named like alice_ex01_beta_update.ipynb)",
    )
    where = p.add_argument_group("the key")
    where.add_argument(
        "--course",
        metavar="DIR",
        help="the course folder: its solutions/ hold the tests, its exercises/ "
        "the notebooks as handed out",
    )
    where.add_argument(
        "--key",
        metavar="DIR",
        help="the folder of solution notebooks (the tests), if not the course's solutions/",
    )
    where.add_argument(
        "--exercises",
        metavar="DIR",
        help="the notebooks as handed out (default: the course's exercises/)",
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--out", metavar="CSV", help="write the grade sheet here (one row per student)"
    )
    out.add_argument(
        "--feedback",
        metavar="DIR",
        help="write each student's per-question report to DIR/STUDENT/EXERCISE.txt",
    )
    out.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    run = p.add_argument_group("where and how long")
    run.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        help="notebooks graded at once, in local worker processes (default: the "
        "number of cores, at most 4)",
    )
    run.add_argument(
        "--executor",
        metavar="WHERE",
        default=None,
        help="where to grade: 'processes', 'inline', a number of processes, or a "
        "dask scheduler address such as tcp://10.0.0.5:8786 (its workers need "
        "bandit-lab and bwrap)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=CELL_TIMEOUT,
        help=f"seconds a cell may run before it is interrupted (default {CELL_TIMEOUT})",
    )
    run.add_argument(
        "--test-timeout",
        type=float,
        default=TEST_TIMEOUT,
        help=f"seconds one question's tests may run (default {TEST_TIMEOUT})",
    )
    run.add_argument(
        "--deadline",
        type=float,
        default=DEADLINE,
        help=f"seconds one notebook may take in all (default {DEADLINE})",
    )
    box = p.add_argument_group("the sandbox")
    box.add_argument(
        "--memory",
        type=parse_size,
        default=_DEFAULT.memory,
        help=f"memory one kernel may use (default {_size(_DEFAULT.memory)})",
    )
    box.add_argument(
        "--cpu-time",
        type=int,
        default=_DEFAULT.cpu,
        help=f"CPU seconds per process (default {_DEFAULT.cpu})",
    )
    box.add_argument(
        "--file-size",
        type=parse_size,
        default=_DEFAULT.file_size,
        help=f"largest file a kernel may write (default {_size(_DEFAULT.file_size)})",
    )
    box.add_argument(
        "--processes",
        type=int,
        default=_DEFAULT.processes,
        help=f"processes and threads per sandbox (default {_DEFAULT.processes})",
    )
    box.add_argument(
        "--tmp-size",
        type=parse_size,
        default=_DEFAULT.tmp_size,
        help=f"size of a sandbox's private /tmp (default {_size(_DEFAULT.tmp_size)})",
    )
    box.add_argument(
        "--max-output",
        type=parse_size,
        default=_DEFAULT.output,
        help=f"output one cell may print before it is stopped (default {_size(_DEFAULT.output)})",
    )
    box.add_argument(
        "--disk",
        type=parse_size,
        default=_DEFAULT.disk,
        help=f"files a kernel's working folder may hold in all (default {_size(_DEFAULT.disk)}; "
        "past it, or past 20,000 files, the kernel is stopped and the notebook run again "
        "without the cell)",
    )
    box.add_argument(
        "--no-sandbox",
        action="store_true",
        help="grade WITHOUT a sandbox where none can be had (macOS, no user "
        "namespaces): the learners' code then runs with your permissions, and "
        "the summary and every row of the grade sheet say so",
    )
    return p


def _executor(args):
    if args.executor is None:
        return args.jobs
    if re.fullmatch(r"\d+", args.executor):
        return int(args.executor)
    return args.executor


def main(argv=None):
    """``bandit-lab grade SUBMISSIONS... --course DIR [--out grades.csv]``; the exit code."""
    args = _parser().parse_args(argv)
    for name in ("timeout", "test_timeout", "deadline"):
        if getattr(args, name) <= 0:
            print(
                f"bandit-lab grade: --{name.replace('_', '-')} == {getattr(args, name)}, "
                "must be > 0.",
                file=sys.stderr,
            )
            return 2
    try:
        limits = Limits(
            args.memory,
            args.cpu_time,
            args.file_size,
            args.processes,
            args.tmp_size,
            args.max_output,
            args.disk,
        ).check()
        key_dir, exercises_dir = course_folders(args.course, args.key, args.exercises)
        keys = load_keys(key_dir, exercises_dir)
        subs = find_submissions(args.submissions)
    except (ValueError, FileNotFoundError) as exc:
        print(f"bandit-lab grade: {exc}", file=sys.stderr)
        return 2
    if not subs:
        print(
            f"bandit-lab grade: no notebooks (*.ipynb) found in {' '.join(args.submissions)}.",
            file=sys.stderr,
        )
        return 2
    hide = [key_dir, *args.submissions, *(p for p in (args.out, args.feedback) if p)]
    if args.course:
        # what an editable install may bind into the sandbox with the package (some build
        # backends point the install at the whole course folder)
        hide += [
            f"{args.course}/{name}" for name in ("solutions", "exercises_src", "tests", ".git")
        ]

    def progress(done, total, r):
        if not args.quiet:
            what = (
                f"{_fmt(round(r.total, 2))}/{_fmt(keys[r.exercise].possible)}"
                if r.exercise
                else "not graded"
            )
            print(
                f"[{done}/{total}] {r.student} {r.path.name}: {what} ({r.seconds:.1f} s)",
                file=sys.stderr,
                flush=True,
            )

    try:
        results = grade_many(
            subs,
            keys,
            executor=_executor(args),
            cell_timeout=max(1, round(args.timeout)),
            test_timeout=max(1, round(args.test_timeout)),
            deadline=args.deadline,
            limits=limits,
            sandbox=not args.no_sandbox,
            hide=hide,
            progress=progress,
        )
    except SandboxUnavailable as exc:
        print(
            f"bandit-lab grade: refusing to run learners' code without a sandbox: {exc}",
            file=sys.stderr,
        )
        return 3
    except (ValueError, TypeError) as exc:
        print(f"bandit-lab grade: {exc}", file=sys.stderr)
        return 2
    columns, rows = gradebook(results, keys)
    if args.out:
        write_csv(args.out, columns, rows)
    if args.feedback:
        write_feedback(args.feedback, results)
    if args.no_sandbox:
        print(f"WARNING: {NO_SANDBOX_NOTE}.\n")
    print(format_summary(columns, rows, keys, results))
    if args.out:
        print(
            f"\nGrade sheet written to {args.out} ({len(rows)} student{'s' if len(rows) != 1 else ''})."
        )
    return 0
