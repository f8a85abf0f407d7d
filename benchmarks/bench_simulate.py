"""How fast is the vectorised simulator? Ratios against baselines measured in the same run.

    python3 tasks.py bench            (or: .venv/bin/python benchmarks/bench_simulate.py)

Bernoulli Thompson sampling, n_runs=1000, n_arms=5, n_steps=5000, reported as time per
run-step and as ratios against
  (a) a plain per-step Python loop like the source article's (one run at a time, one
      Beta draw per arm per step with a Generator; timed on a subset of runs, per run-step),
  (b) the bare cost of drawing the same number of Beta samples with NumPy: one
      rng.beta call per step with parameter arrays of shape (n_runs, n_arms), which is
      what any Thompson-sampling simulation must draw (the parameters change every step).
      For reference it also prints a single rng.beta call with *constant* scalar
      parameters for all 25 million draws: NumPy's fastest path, which no simulation whose
      posteriors move can use.
Targets: at least 30x faster than (a), within 1.3x of (b). Not a pass/fail test.

The simulator and baseline (b) are timed in alternation (CPU time), and the ratio reported
is the median of the ratios of each pair: this machine's speed wanders by up to 2x within a
minute, and pairs taken seconds apart see the same speed.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from bandit_lab import SOURCE_RATES, BernoulliBandit, BetaBernoulliTS, simulate


def best_of(repeats, fn):
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def paired(repeats, fn_a, fn_b):
    """CPU times of fn_a and fn_b, timed in alternation: (times_a, times_b)."""
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            t0 = time.process_time()
            fn()
            times.append(time.process_time() - t0)
    return times_a, times_b


def source_style_loop(rates, n_steps, n_runs, rng):
    """The source's shape: one run at a time, one step at a time, Python objects."""
    rates = np.asarray(rates)
    k = rates.size
    for _ in range(n_runs):
        alpha = np.ones(k)
        beta = np.ones(k)
        for _ in range(n_steps):
            arm = int(np.argmax(rng.beta(alpha, beta)))
            reward = float(rng.random() < rates[arm])
            alpha[arm] += reward
            beta[arm] += 1.0 - reward


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--loop-runs", type=int, default=10, help="runs timed for baseline (a)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    R, T, K = args.runs, args.steps, len(SOURCE_RATES)
    env = BernoulliBandit(SOURCE_RATES)
    run_steps = R * T

    # (b) draws with realistic parameters: the posteriors half way through a simulation
    hist = simulate(BetaBernoulliTS(K), env, n_steps=T // 2, n_runs=R, rng=1)
    pulls = hist.arm_counts()
    wins = np.stack(
        [np.where(hist.arms == k, hist.rewards, 0).sum(axis=1) for k in range(K)], axis=1
    )
    a = 1.0 + wins
    b = 1.0 + pulls - wins
    rng = np.random.default_rng(2)

    def per_step_draws():
        for _ in range(T):
            rng.beta(a, b)

    sims, draws = paired(
        args.repeats,
        lambda: simulate(BetaBernoulliTS(K), env, n_steps=T, n_runs=R, rng=1),
        per_step_draws,
    )
    t_sim, t_draw = min(sims), min(draws)
    ratio = float(np.median(np.array(sims) / np.array(draws)))
    t_draw_one = best_of(args.repeats, lambda: rng.beta(2.0, 30.0, size=(T, R, K)))

    t_loop = best_of(
        1, lambda: source_style_loop(SOURCE_RATES, T, args.loop_runs, np.random.default_rng(3))
    )
    per_loop = t_loop / (args.loop_runs * T)
    per_sim = t_sim / run_steps

    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, NumPy {np.__version__}"
    )
    print(f"problem: Bernoulli TS, n_runs={R}, n_arms={K}, n_steps={T} ({run_steps:,} run-steps)")
    print(f"simulate (vectorised)          {t_sim:8.2f} s   {per_sim * 1e9:8.1f} ns per run-step")
    print(
        f"(a) per-step Python loop       {'':8s}     {per_loop * 1e9:8.1f} ns per run-step "
        f"(timed on {args.loop_runs} runs)"
    )
    print(
        f"(b) bare Beta draws            {t_draw:8.2f} s   {t_draw / run_steps * 1e9:8.1f} ns per run-step "
        "(one rng.beta call per step, (n_runs, n_arms) parameters)"
    )
    print(
        f"    reference: one call, constant parameters {t_draw_one:.2f} s "
        f"({t_draw_one / run_steps * 1e9:.1f} ns per run-step)"
    )
    print(f"speed-up over (a):  {per_loop / per_sim:6.1f}x   (target >= 30x)")
    print(
        f"cost relative to (b): {ratio:5.2f}x   (target <= 1.3x; median of {args.repeats} "
        f"alternating pairs, each {', '.join(f'{x / y:.2f}' for x, y in zip(sims, draws))})"
    )
    print(f"cost relative to the constant-parameter reference: {t_sim / t_draw_one:5.2f}x")


if __name__ == "__main__":
    main()
