"""How fast is one decision plus one update of linear Thompson sampling? A ratio against the
source article's approach, measured in the same run.

    python3 tasks.py bench            (or: .venv/bin/python benchmarks/bench_contextual.py)

d = 11 features, 5 arms, one customer at a time (the serving path: a decision, then its
reward). Timed per decision + update:
  (a) the source's approach (its Part 7): for every arm, invert the precision matrix and
      draw a whole weight vector with a multivariate-normal sampler (an SVD per arm per
      decision); the update inverts the precision matrix again. Written here with a numpy
      Generator instead of the global state; otherwise the same operations.
  (b) bandit_lab.LinearTS through its public verbs, select(x) and update(x, arm, r), with
      input checks: one normal draw of x . w per arm, a rank-one covariance update.
  (c) the same maths through the pure functions (what the vectorised simulator calls,
      here on one run), without the input checks.
Target: (b) at least 10x faster than (a). Figures, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from bandit_lab.contextual import LinearTS, gaussian_linear_update, linear_ts_scores
from bandit_lab.scores import argmax_random

D, K = 11, 5
PRIOR_VAR, NOISE_VAR = 2.0, 0.05


def contexts(n, rng):
    X = rng.random((n, D))
    X[:, -1] = 1.0
    return X


def source_approach(X, rewards, rng):
    """Part 7 of the source: inverse + multivariate normal per arm per decision."""
    mus = [np.zeros(D) for _ in range(K)]
    lambdas = [np.eye(D) / PRIOR_VAR for _ in range(K)]
    for x, r in zip(X, rewards):
        samples = []
        for k in range(K):
            cov = np.linalg.inv(lambdas[k])
            w = rng.multivariate_normal(mus[k], cov)
            samples.append(float(x @ w))
        arm = int(np.argmax(samples))
        lambdas[arm] += np.outer(x, x) / NOISE_VAR
        sigma = np.linalg.inv(lambdas[arm])
        mus[arm] = sigma @ (lambdas[arm] @ mus[arm] + r[arm] * x / NOISE_VAR)


def ours_objects(X, rewards, rng):
    bandit = LinearTS(K, D, prior_var=PRIOR_VAR, noise_var=NOISE_VAR, rng=rng)
    for x, r in zip(X, rewards):
        arm = bandit.select(x)
        bandit.update(x, arm, float(r[arm]))


def ours_functions(X, rewards, rng):
    state = LinearTS(K, D, prior_var=PRIOR_VAR, noise_var=NOISE_VAR).initial_state(())
    mean, cov = state["mean_"], state["cov_"]
    for x, r in zip(X, rewards):
        arm = argmax_random(linear_ts_scores(mean, cov, x, rng), rng)
        gaussian_linear_update(mean, cov, x, arm, r[arm], NOISE_VAR)


def best_of(repeats, fn, *args):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=2000, help="decisions per timing")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    data_rng = np.random.default_rng(0)
    X = contexts(args.steps, data_rng)
    rewards = (data_rng.random((args.steps, K)) < 0.1).astype(float)

    t_src = best_of(args.repeats, source_approach, X, rewards, np.random.default_rng(1))
    t_obj = best_of(args.repeats, ours_objects, X, rewards, np.random.default_rng(1))
    t_fun = best_of(args.repeats, ours_functions, X, rewards, np.random.default_rng(1))
    per = 1e6 / args.steps
    print(
        f"bench_contextual: d={D}, {K} arms, {args.steps} decisions+updates, best of "
        f"{args.repeats} (numpy {np.__version__}, Python {platform.python_version()})"
    )
    print(
        f"  (a) source approach, inverse + multivariate normal per arm : {t_src * per:8.1f} us per decision+update"
    )
    print(
        f"  (b) LinearTS.select + LinearTS.update (checked)             : {t_obj * per:8.1f} us per decision+update"
        f"   {t_src / t_obj:5.1f}x faster than (a) (target >= 10x)"
    )
    print(
        f"  (c) pure functions, unchecked                              : {t_fun * per:8.1f} us per decision+update"
        f"   {t_src / t_fun:5.1f}x faster than (a)"
    )


if __name__ == "__main__":
    main()
