"""How fast are the exact A/B-test sums, by block size?

    .venv/bin/python benchmarks/bench_ab.py

``bandit_lab.ab_testing`` evaluates Evan Miller's exact sum for P(B > A) on blocks of
(comparisons x terms) at a time (``_BLOCK``). This times the workload behind one rate change
of notebook 08's A/B explorer (the expected loss at every look of 120 experiments: 40 looks,
rates 5% and 6%) at several block sizes, and reports each as a ratio to 2,000,000-element
blocks (the old setting) measured in the same run, with the largest difference in the
losses. Figures, not a pass/fail test.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import bandit_lab.ab_testing as ab
from bandit_lab.widgets.abtest import ExpectedLossPaths

BASELINE = 2_000_000
SIZES = (BASELINE, 500_000, 131_072, 65_536, 32_768, 16_384)


def main(repeats=7):
    paths = ExpectedLossPaths(n_experiments=120, check_every=250, max_samples=10_000, rng=0)
    saved = ab._BLOCK
    times, losses = {}, {}
    try:
        for _ in range(repeats):  # interleaved, so a slow spell of the machine hits all sizes
            for size in SIZES:
                ab._BLOCK = size
                c0 = time.process_time()
                losses[size] = paths._simulate(0.05, 0.06)[0]
                times.setdefault(size, []).append(time.process_time() - c0)
    finally:
        ab._BLOCK = saved
    base = statistics.median(times[BASELINE])
    print(
        f"Expected loss at every look of 120 experiments x 40 looks (rates 0.05, 0.06); "
        f"CPU median of {repeats} runs; _BLOCK is now {saved:,}."
    )
    print(f"{'block':>10} {'CPU ms':>8} {'x baseline':>10} {'max |loss difference|':>22}")
    for size in SIZES:
        med = statistics.median(times[size])
        diff = float(np.max(np.abs(losses[size] - losses[BASELINE])))
        print(f"{size:>10,} {1000 * med:8.1f} {med / base:10.2f} {diff:22.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
