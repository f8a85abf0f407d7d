"""What stepping a policy object costs: BetaBernoulliTS.select + update, per step.

A learner steps objects in loops (notebook 03, the exercises, a service). This compares,
in the same run and on the same rewards:

(a) a plain NumPy per-step loop doing the same maths (draw every arm's Beta, take the
    argmax, add the reward to alpha or beta): no checks, no tie-breaking;
(b) a ``BetaBernoulliTS`` object stepped through ``select()`` and ``update(arm, reward)``:
    the reward checked at every call, ties broken at random;
(c) the vectorised simulator, per run-step, for scale (``simulate``, 1000 runs).

Target: (b) costs at most 1.5x (a). Timings alternate (a) and (b) and report the median of
the pairs' ratios of CPU time, because this machine's speed wanders. Not pass/fail.

    .venv/bin/python benchmarks/bench_objects.py [--steps 20000] [--pairs 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from bandit_lab import BernoulliBandit, BetaBernoulliTS, simulate

RATES = np.array([0.030, 0.045, 0.028, 0.015, 0.060])


def plain_loop(u: np.ndarray, seed: int) -> float:
    """(a): seconds per step of the bare NumPy loop."""
    rng = np.random.default_rng(seed)
    a, b = np.ones(RATES.size), np.ones(RATES.size)
    start = time.process_time()
    for t in range(u.size):
        arm = int(rng.beta(a, b).argmax())
        r = float(u[t] < RATES[arm])
        a[arm] += r
        b[arm] += 1.0 - r
    return (time.process_time() - start) / u.size


def object_loop(u: np.ndarray, seed: int) -> float:
    """(b): seconds per step of select + update on a BetaBernoulliTS object."""
    policy = BetaBernoulliTS(RATES.size, rng=seed)
    start = time.process_time()
    for t in range(u.size):
        arm = policy.select()
        policy.update(arm, float(u[t] < RATES[arm]))
    return (time.process_time() - start) / u.size


def vectorised(n_runs: int, n_steps: int) -> float:
    """(c): seconds per run-step of the vectorised simulator."""
    start = time.process_time()
    simulate(
        BetaBernoulliTS(RATES.size), BernoulliBandit(RATES), n_steps=n_steps, n_runs=n_runs, rng=0
    )
    return (time.process_time() - start) / (n_runs * n_steps)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args(argv)
    u = np.random.default_rng(1).random(args.steps)
    # the same choices on the same rewards: the object draws exactly the plain loop's numbers
    check = BetaBernoulliTS(RATES.size, rng=0)
    rng = np.random.default_rng(0)
    a, b = np.ones(RATES.size), np.ones(RATES.size)
    for t in range(2000):
        arm = check.select()
        assert arm == int(rng.beta(a, b).argmax())
        r = float(u[t] < RATES[arm])
        check.update(arm, r)
        a[arm] += r
        b[arm] += 1.0 - r
    plain_loop(u[:2000], 0), object_loop(u[:2000], 0)  # warm up
    pairs = []
    for i in range(args.pairs):
        p, o = plain_loop(u, i), object_loop(u, i)
        pairs.append((p, o))
    plains, objects = (np.array(x) for x in zip(*pairs))
    ratios = objects / plains
    vec = vectorised(1000, 2000)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, NumPy "
        f"{np.__version__}, load average {load:.2f}"
    )
    print(
        f"problem: Beta-Bernoulli TS, {RATES.size} arms, {args.steps} steps per loop, "
        f"{args.pairs} alternating pairs"
    )
    print(f"(a) plain NumPy per-step loop        {np.median(plains) * 1e6:7.2f} us per step")
    print(f"(b) BetaBernoulliTS select + update  {np.median(objects) * 1e6:7.2f} us per step")
    print(
        f"(c) simulate, 1000 runs (vectorised) {vec * 1e6:7.3f} us per run-step "
        f"({np.median(objects) / vec:,.0f}x less than (b))"
    )
    print(
        f"cost of (b) relative to (a): {np.median(ratios):.2f}x (target <= 1.5x; pairs: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + ")"
    )
    print("same choices as (a) on the same rewards: checked for 2000 steps")


if __name__ == "__main__":
    main()
