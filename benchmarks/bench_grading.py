"""What does the sandbox cost? Grading time per notebook with and without bubblewrap.

    .venv/bin/python benchmarks/bench_grading.py [--repeats 3] [--exercises ex01_beta_update ...]

Grades the solution notebooks one at a time (one worker, so the figure is the time of one
notebook, not of a parallel batch), each with the sandbox and with ``--no-sandbox``,
interleaved (sandbox, none, none, sandbox, ...) so that a slow spell of the machine hits both.
Everything else is the same code path: the same kernel, the same capture before the
learner's cells, the same tests sent over the channel. Reports the median wall time per
notebook of each, their ratio (target: the sandbox adds under 10%), the ratio within each
pair of back-to-back runs of the same notebook (which cancels the machine's slow drifts), and
the load average (the figures are noisy on a shared machine). Figures, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    from bandit_lab import grading

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--exercises",
        nargs="*",
        default=["ex01_beta_update", "ex03_ucb1_index", "ex07_regret_decomposition"],
    )
    args = p.parse_args(argv)
    problem = grading.sandbox_problem()
    if problem:
        print(f"no sandbox here, nothing to compare: {problem}")
        return 0
    keys = grading.load_keys(ROOT / "solutions", ROOT / "exercises")
    times = {True: [], False: []}
    pairs = []  # (with, without) for the same notebook, one right after the other
    load_before = os.getloadavg()
    for r in range(args.repeats):
        for name in args.exercises:
            order = (True, False) if r % 2 == 0 else (False, True)
            pair = {}
            for sandbox in order:
                start = time.perf_counter()
                res = grading.grade_notebook_file(
                    ROOT / "solutions" / f"{name}.ipynb",
                    keys[name],
                    sandbox=sandbox,
                    cell_timeout=300,
                    deadline=900,
                )
                seconds = time.perf_counter() - start
                assert res.scores == keys[name].questions, (name, sandbox, res.notes)
                times[sandbox].append(seconds)
                pair[sandbox] = seconds
            pairs.append(pair[True] / pair[False])
    load_after = os.getloadavg()
    with_box, without = statistics.median(times[True]), statistics.median(times[False])
    print(
        f"Grading {len(args.exercises)} solution notebooks x {args.repeats} repeats, one at a time "
        f"(Python {sys.version.split()[0]}, {os.cpu_count()} cores; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after)"
    )
    print(f"{'':22}{'median s':>10}{'min s':>8}{'max s':>8}")
    for label, sandbox in (("with the sandbox", True), ("without (--no-sandbox)", False)):
        t = times[sandbox]
        print(f"{label:22}{statistics.median(t):10.2f}{min(t):8.2f}{max(t):8.2f}")
    print(
        f"the sandbox adds {100 * (with_box / without - 1):+.1f}% (median with / median without = "
        f"{with_box / without:.3f}; target < 1.10)"
    )
    print(
        f"paired (each notebook with, then without, or the other way round): median ratio "
        f"{statistics.median(pairs):.3f}, mean {statistics.mean(pairs):.3f}, "
        f"range {min(pairs):.2f}-{max(pairs):.2f} over {len(pairs)} pairs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
