"""How long does estimating a policy's value from a log of a million rounds take?

    python3 tasks.py bench            (or: .venv/bin/python benchmarks/bench_offpolicy.py)

A synthetic log of n = 1,000,000 rounds and 10 arms: the logger's propensities, the target
policy's action probabilities (n, 10) and a reward model's predictions (n, 10) are given,
as they are once a policy and a model exist. Timed, best of a few repeats:

  (a) bandit_lab.offpolicy's ips, snips, direct_method and doubly_robust through their
      public functions: input checks (every probability row sums to 1, ...), the estimate,
      its standard error, interval and effective sample size;
  (b) the bare NumPy formula of each estimate alone (no checks, no interval): the floor;
  (c) building the LoggedFeedback (validating a million actions, rewards, propensities);
  (d) Open Bandit Pipeline's estimators (obp.ope) on the same arrays, when obp is
      installed (it is not a dependency of the course: run this script in an environment
      that has it to see the comparison).

Target: every estimate (a) under one second. Figures, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from bandit_lab.offpolicy import (
    LoggedFeedback,
    direct_method,
    doubly_robust,
    ips,
    sample_actions,
    snips,
)


def make_log(n, k, rng):
    logger = rng.dirichlet(np.ones(k), size=n) * 0.8 + 0.2 / k
    actions = sample_actions(logger, rng)
    rows = np.arange(n)
    rewards = (rng.random(n) < 0.1 + 0.05 * (actions % 3)).astype(float)
    target = rng.dirichlet(np.full(k, 0.3), size=n)
    q = np.clip(0.1 + 0.05 * (np.arange(k) % 3) + 0.02 * rng.standard_normal((n, k)), 0, 1)
    return actions, rewards, logger[rows, actions], target, q


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--arms", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    n, k = args.n, args.arms
    rng = np.random.default_rng(0)
    actions, rewards, pscore, target, q = make_log(n, k, rng)
    rows = np.arange(n)

    t_log, log = best_of(lambda: LoggedFeedback(actions, rewards, pscore, n_arms=k), args.repeats)

    def bare_ips():
        return np.mean(target[rows, actions] / pscore * rewards)

    def bare_snips():
        w = target[rows, actions] / pscore
        return np.sum(w * rewards) / np.sum(w)

    def bare_dm():
        return np.mean(np.einsum("nk,nk->n", target, q))

    def bare_dr():
        w = target[rows, actions] / pscore
        return np.mean(np.einsum("nk,nk->n", target, q) + w * (rewards - q[rows, actions]))

    ours = {
        "IPS": (lambda: ips(log, target), bare_ips),
        "SNIPS": (lambda: snips(log, target), bare_snips),
        "DM": (lambda: direct_method(log, target, q), bare_dm),
        "DR": (lambda: doubly_robust(log, target, q), bare_dr),
    }
    theirs = {}
    try:
        import obp
        from obp.ope import (
            DirectMethod,
            DoublyRobust,
            InverseProbabilityWeighting,
            SelfNormalizedInverseProbabilityWeighting,
        )
    except ImportError:
        obp = None
    else:
        dist = target[:, :, None]
        qq = q[:, :, None]
        common = dict(reward=rewards, action=actions, action_dist=dist)
        theirs = {
            "IPS": lambda: InverseProbabilityWeighting().estimate_policy_value(
                pscore=pscore, **common
            ),
            "SNIPS": lambda: SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(
                pscore=pscore, **common
            ),
            "DM": lambda: DirectMethod().estimate_policy_value(
                estimated_rewards_by_reg_model=qq, **common
            ),
            "DR": lambda: DoublyRobust().estimate_policy_value(
                pscore=pscore, estimated_rewards_by_reg_model=qq, **common
            ),
        }

    print(
        f"bench_offpolicy: n = {n:,} rounds, {k} arms, best of {args.repeats} "
        f"(numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"load average {os.getloadavg()[0]:.2f})"
    )
    print(f"  (c) LoggedFeedback(actions, rewards, propensities) checked and built: {t_log:6.3f} s")
    header = f"  {'estimator':<9}{'(a) ours':>10}{'(b) bare':>10}{'a / b':>7}"
    if theirs:
        header += f"{'(d) OBP':>10}{'d / a':>7}{'same value':>12}"
    print(header)
    for name, (full, bare) in ours.items():
        t_a, est = best_of(full, args.repeats)
        t_b, value = best_of(bare, args.repeats)
        line = f"  {name:<9}{t_a:>8.3f} s{t_b:>8.3f} s{t_a / t_b:>6.1f}x"
        assert abs(est.value - value) < 1e-12
        if theirs:
            t_d, v_d = best_of(theirs[name], args.repeats)
            line += f"{t_d:>8.3f} s{t_d / t_a:>6.1f}x{abs(v_d - est.value) < 1e-9!s:>12}"
        print(line)
    if obp is None:
        print(
            "  (d) Open Bandit Pipeline: not installed here (pip install obp in another "
            "environment to compare)"
        )
    else:
        print(f"  (d) Open Bandit Pipeline {obp.__version__}")
    print(f"target: every estimate (a) under 1 s; load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
