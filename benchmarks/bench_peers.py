"""Head to head: our contextual bandits against the peer libraries, on identical customers
and identical pre-drawn outcomes, with paired differences and their standard errors.

    .venv/bin/python benchmarks/bench_peers.py              the table (the peers installed here)
    .venv/bin/python benchmarks/bench_peers.py --quick      a smoke test (3 seeds x 1,000)
    .venv/bin/python benchmarks/bench_peers.py --sweep      the sweep that chose the defaults
        (--short: its finalists; --peer-seeds N: the peers on the first N seeds only;
         --cache FILE: keep the peers' results between runs; --smpy-python PY: a Python
         where SMPyBandits imports, for the Bernoulli simulator's comparison)

The peers (Vowpal Wabbit, mabwiser, bayesianbandits, contextualbandits, SMPyBandits) are no
dependency of the course; install them in a separate environment, with the pins that were
measured, and run the script there:

    python3 -m venv /tmp/peersvenv
    /tmp/peersvenv/bin/pip install -c constraints.txt -c benchmarks/peers-constraints.txt -e .[peers]
    nice -n 10 /tmp/peersvenv/bin/python benchmarks/bench_peers.py

**The protocol.** Two problems:

- ``credit``: the course's credit-card case (notebook 06: ``CreditCardEnv(rng=0)``, 20,000
  customers, 5 offers, the 11 features of its fitted pipeline);
- ``digits``: scikit-learn's 1,797 handwritten digits as a bandit (supervised to bandit:
  10 arms, reward 1 for naming the digit and 0 otherwise; features: the 64 pixels / 16
  reduced to 24 principal components, plus an intercept; the data ship with scikit-learn,
  nothing is downloaded).

For every seed, the customers (rows drawn with replacement) and the outcome of **every** arm
for every customer are drawn once, and every policy, ours and the peers', faces exactly
those: the only differences are the policies' own. Regret is the expected reward lost to the
oracle (who knows every customer's expected reward of every arm), per 10,000 customers; a
row's ``+- se`` is the standard error over seeds, and ``vs ref`` is the mean paired
difference with the reference policy (the first row) and its standard error (the spread of
the per-seed differences), usually smaller than either row's own because the luck is
shared. Ours run through ``simulate_contextual`` (all seeds at once, the vectorised
path); a peer runs one seed at a time through its own public API, one decision and one
update per customer.

Every peer runs idiomatically at its documented defaults and, where one exists, at the
setting that gives it the same posterior as one of ours (said in its row). Speed is the
wall time per decision + update of one bandit serving one customer at a time, on the first
1,000 (peers) or 2,000 (ours) customers of the first seed, all timed in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass

import numpy as np

from bandit_lab import (
    BernoulliBandit,
    BetaBernoulliTS,
    LinearTS,
    LinUCB,
    LogisticTS,
    NIGLinearTS,
    simulate,
    simulate_contextual,
)
from bandit_lab.environments import Environment, Step

PER = 10_000


# ---------------------------------------------------------------------------------------
# Problems: customers and every arm's outcome, drawn once per seed
# ---------------------------------------------------------------------------------------
@dataclass
class Problem:
    name: str
    contexts: np.ndarray  # (n_seeds, n_steps, d)
    expected: np.ndarray  # (n_seeds, n_steps, K): every arm's expected reward
    outcomes: np.ndarray  # (n_seeds, n_steps, K): every arm's drawn reward

    @property
    def n_seeds(self):
        return self.contexts.shape[0]

    @property
    def n_steps(self):
        return self.contexts.shape[1]

    @property
    def n_features(self):
        return self.contexts.shape[2]

    @property
    def n_arms(self):
        return self.expected.shape[2]

    def regret(self, arms):
        """Regret per 10,000 customers of every seed, from the arms chosen (n_seeds, n_steps)."""
        got = np.take_along_axis(self.expected, arms[..., None].astype(np.intp), 2)[..., 0]
        return (self.expected.max(axis=2) - got).sum(axis=1) * PER / self.n_steps


def credit_problem(n_seeds, n_steps):
    from bandit_lab import CreditCardEnv

    env = CreditCardEnv(n_customers=20_000, n_history=5_000, rng=0)  # notebook 06's population
    ctx, exp, out = [], [], []
    for seed in range(n_seeds):
        g = np.random.default_rng([2024, seed])
        idx = g.integers(len(env.customers), size=n_steps)
        ctx.append(env.contexts[idx])
        exp.append(env.expected[idx])
        out.append((g.random((n_steps, env.n_arms)) < env.expected[idx]).astype(float))
    return Problem("credit", np.stack(ctx), np.stack(exp), np.stack(out))


def digits_problem(n_seeds, n_steps):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    X, y = load_digits(return_X_y=True)
    # the 64 pixels reduced to 24 principal components, fitted once on the whole data set
    # (as a feature pipeline would be on history), plus an intercept: 25 features
    pcs = PCA(n_components=24, random_state=0).fit_transform(X / 16.0)
    feats = np.column_stack([pcs, np.ones(len(X))])
    onehot = np.eye(10)[y]
    ctx, exp = [], []
    for seed in range(n_seeds):
        idx = np.random.default_rng([7, seed]).integers(len(X), size=n_steps)
        ctx.append(feats[idx])
        exp.append(onehot[idx])
    exp = np.stack(exp)
    return Problem("digits", np.stack(ctx), exp, exp.copy())  # a label is certain


PROBLEMS = {"credit": credit_problem, "digits": digits_problem}


class Replay(Environment):
    """The pre-drawn customers as an environment for ``simulate_contextual``: run ``i`` of
    the simulation is seed ``i``; step ``t`` serves every seed's customer ``t``."""

    n_segments = 1

    def __init__(self, problem):
        self.p = problem
        self.n_arms, self.n_features = problem.n_arms, problem.n_features

    def step(self, t, n_runs, rng):
        return Step(
            t,
            self.p.expected[:, t],
            self.p.outcomes[:, t],
            self.p.contexts[:, t],
            np.zeros(n_runs, dtype=np.int64),
        )


def run_ours(policies, problem, rng=11):
    """Regret per seed of each of our policies (all seeds at once), and the seconds taken."""
    t0 = time.perf_counter()
    res = simulate_contextual(
        policies, Replay(problem), n_steps=problem.n_steps, n_runs=problem.n_seeds, rng=rng
    )
    took = time.perf_counter() - t0
    return {name: problem.regret(h.arms) for name, h in res.items()}, took


# ---------------------------------------------------------------------------------------
# The peers: one adapter each, ``decide(x) -> arm`` and ``learn(x, arm, reward)``
# ---------------------------------------------------------------------------------------
class Skip(Exception):
    pass


def vw_factory(args):
    def make(K, d, seed):
        try:
            import vowpalwabbit
        except ImportError as err:
            raise Skip(f"vowpalwabbit not importable ({err})") from None
        vw = vowpalwabbit.Workspace(f"{args} --interactions sa --random_seed {seed} --quiet")
        rng = np.random.default_rng(seed)

        def lines(x, label=None):
            out = ["shared |s " + " ".join(f"f{j}:{v:.6g}" for j, v in enumerate(x) if v != 0.0)]
            for k in range(K):
                out.append(
                    (f"0:{label[0]}:{label[1]} " if label is not None and label[2] == k else "")
                    + f"|a arm{k}"
                )
            return out

        class VW:
            prob = 1.0

            def decide(self, x):
                pmf = np.asarray(vw.predict(lines(x)), dtype=float)
                pmf = pmf / pmf.sum()
                arm = int(rng.choice(K, p=pmf))
                self.prob = float(pmf[arm])
                return arm

            def learn(self, x, arm, reward):
                vw.learn(lines(x, (-reward, self.prob, arm)))  # VW minimises a cost

            def close(self):
                vw.finish()

        return VW()

    return make


def mabwiser_factory(alpha, l2_lambda):
    def make(K, d, seed):
        try:
            from mabwiser.mab import MAB, LearningPolicy
        except ImportError as err:
            raise Skip(f"mabwiser not importable ({err})") from None
        mab = MAB(list(range(K)), LearningPolicy.LinTS(alpha=alpha, l2_lambda=l2_lambda), seed=seed)

        class Mabwiser:
            fitted = False

            def decide(self, x):
                if not self.fitted:  # before any data mabwiser cannot predict: uniform
                    return int(np.random.default_rng([seed, 1]).integers(K))
                return int(mab.predict(x[None, :]))

            def learn(self, x, arm, reward):
                if not self.fitted:
                    mab.fit([arm], [reward], x[None, :])
                    self.fitted = True
                else:
                    mab.partial_fit([arm], [reward], x[None, :])

        return Mabwiser()

    return make


def bayesianbandits_factory(learner):
    def make(K, d, seed):
        try:
            import bayesianbandits as bb
        except ImportError as err:
            raise Skip(f"bayesianbandits not importable ({err})") from None
        arms = [bb.Arm(k, learner=learner(bb)) for k in range(K)]
        agent = bb.ContextualAgent(arms, bb.ThompsonSampling(), random_seed=seed)

        class BB:
            def decide(self, x):
                return int(agent.pull(x[None, :])[0])

            def learn(self, x, arm, reward):
                agent.select_for_update(arm).update(x[None, :], np.array([reward]))

        return BB()

    return make


def contextualbandits_factory(**kwargs):
    def make(K, d, seed):
        try:
            from contextualbandits.online import LinTS
        except ImportError as err:
            raise Skip(f"contextualbandits not importable ({err})") from None
        model = LinTS(K, random_state=seed + 1, **kwargs)  # it refuses a seed of 0

        class CB:
            fitted = False

            def decide(self, x):
                if not self.fitted:
                    return int(np.random.default_rng([seed, 1]).integers(K))
                return int(model.predict(x[None, :])[0])

            def learn(self, x, arm, reward):
                model.partial_fit(x[None, :], np.array([arm]), np.array([reward]))
                self.fitted = True

        return CB()

    return make


def run_peer(make, problem, n_seeds=None):
    """Regret per seed of one peer, and its seconds per decision + update (first seed)."""
    K, d = problem.n_arms, problem.n_features
    regrets, per_decision = [], None
    for seed in range(problem.n_seeds if n_seeds is None else n_seeds):
        agent = make(K, d, seed)
        X, out = problem.contexts[seed], problem.outcomes[seed]
        arms = np.empty(problem.n_steps, dtype=np.int64)
        t0 = time.perf_counter()
        for t in range(problem.n_steps):
            a = agent.decide(X[t])
            agent.learn(X[t], a, float(out[t, a]))
            arms[t] = a
        if per_decision is None:
            per_decision = (time.perf_counter() - t0) / problem.n_steps
        if hasattr(agent, "close"):
            agent.close()
        got = problem.expected[seed, np.arange(problem.n_steps), arms]
        regrets.append((problem.expected[seed].max(axis=1) - got).sum() * PER / problem.n_steps)
    return np.array(regrets), per_decision


# ---------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------
def mean_se(v):
    v = np.asarray(v, dtype=float)
    return v.mean(), (v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan"))


def table(rows, ref):
    """Print rows (name -> regrets per seed), with the paired difference to ``ref``."""
    width = max(len(n) for n in rows) + 2
    print(f"  {'policy':<{width}} {'regret per 10k':>16} {'vs ' + ref[:22]:>28}")
    for name, r in rows.items():
        m, se = mean_se(r)
        if name == ref:
            diff = "(reference)"
        else:
            dm, dse = mean_se(r - rows[ref])
            diff = f"{dm:+7.1f} +- {dse:4.1f}"
        print(f"  {name:<{width}} {m:8.1f} +- {se:4.1f} {diff:>28}")


# ---------------------------------------------------------------------------------------
# The head-to-head table
# ---------------------------------------------------------------------------------------
# The best fixed setting of each family found by ``--sweep`` (20 seeds x 10,000 customers,
# see the README), per problem: the rows the class defaults must at least tie.
SWEEP_BEST = {
    "credit": {
        "LinUCB(alpha=0.1, ridge=1)": lambda K, d: LinUCB(K, d, alpha=0.1, ridge=1.0),
        "LinearTS(prior_var=1, noise_var=0.003)": lambda K, d: LinearTS(
            K, d, prior_var=1.0, noise_var=0.003
        ),
    },
    "digits": {
        "NIGLinearTS(prior_var=3, a0=10, b0=1, exploration=0.25)": lambda K, d: NIGLinearTS(
            K, d, prior_var=3.0, a0=10.0, b0=1.0, exploration=0.25
        ),
        "LinearTS(prior_var=0.1, noise_var=0.003)": lambda K, d: LinearTS(
            K, d, prior_var=0.1, noise_var=0.003
        ),
    },
}
# (on digits the best LinUCB setting found is its class default)


def ours(K, d, problem):
    rows = {
        "NIGLinearTS, class defaults": NIGLinearTS(K, d),
        "LinearTS, class defaults": LinearTS(K, d),
        "LinUCB, class defaults": LinUCB(K, d),
        "LogisticTS, class defaults": LogisticTS(K, d),
        "NIGLinearTS(exploration=1): Thompson sampling by the book": NIGLinearTS(
            K, d, exploration=1.0
        ),
        "LinearTS as notebook 06 sets it (prior_var 2, noise_var 0.05)": LinearTS(
            K, d, prior_var=2.0, noise_var=0.05
        ),
        "LinearTS(prior_var=2, noise_var=0.01)": LinearTS(K, d, prior_var=2.0, noise_var=0.01),
        "LinearTS, the old defaults (prior_var 1, noise_var 0.1)": LinearTS(
            K, d, prior_var=1.0, noise_var=0.1
        ),
        "LinUCB(alpha=1, ridge=1), the old defaults": LinUCB(K, d, alpha=1.0, ridge=1.0),
    }
    for label, make in SWEEP_BEST.get(problem, {}).items():
        rows[f"sweep's best: {label}"] = make(K, d)
    return rows


def peers(K, d):
    """name -> factory. A ``same posterior`` row gives the peer the prior and noise of
    LinearTS as notebook 06 sets it (prior_var 2, noise_var 0.05: the issue's rows), or of
    NIGLinearTS's prior (prior_var 1, a0 1, b0 0.1; its draws are not narrowed)."""
    nig = NIGLinearTS(K, d, prior_var=1.0, a0=1.0, b0=0.1)
    pv, nv = 2.0, 0.05
    return {
        "Vowpal Wabbit --cb_explore_adf (default: epsilon 0.05)": vw_factory("--cb_explore_adf"),
        "Vowpal Wabbit --cb_explore_adf --squarecb": vw_factory("--cb_explore_adf --squarecb"),
        "mabwiser LinTS, its defaults (alpha 1, l2_lambda 1)": mabwiser_factory(1.0, 1.0),
        f"mabwiser LinTS, same posterior as notebook 06's LinearTS (alpha {np.sqrt(nv):.3g}, l2_lambda {nv / pv:.3g})": mabwiser_factory(
            float(np.sqrt(nv)), nv / pv
        ),
        "bayesianbandits NIG + TS, its defaults (lam 1, a 0.1, b 0.1)": bayesianbandits_factory(
            lambda bb: bb.NormalInverseGammaRegressor()
        ),
        f"bayesianbandits NIG + TS, same posterior as NIGLinearTS(prior_var=1) (lam {1 / nig.prior_var:.3g}, "
        f"a {nig.a0:g}, b {nig.b0:g})": bayesianbandits_factory(
            lambda bb: bb.NormalInverseGammaRegressor(lam=1 / nig.prior_var, a=nig.a0, b=nig.b0)
        ),
        f"bayesianbandits NormalRegressor + TS, same posterior as notebook 06's LinearTS (alpha {1 / pv:.3g}, "
        f"beta {1 / nv:.3g}; it has no defaults)": bayesianbandits_factory(
            lambda bb: bb.NormalRegressor(alpha=1 / pv, beta=1 / nv)
        ),
        "contextualbandits LinTS, its defaults (lambda_ 1, v_sq 1, fit_intercept)": contextualbandits_factory(),
        f"contextualbandits LinTS, same posterior as notebook 06's LinearTS (lambda_ {nv / pv:.3g}, v_sq {nv:.3g})": contextualbandits_factory(
            lambda_=nv / pv, v_sq=nv, fit_intercept=False
        ),
    }


def peer_speed(make, problem, n=1_000):
    """Seconds per decision + update of a peer on the first ``n`` customers of seed 0
    (timed in the same run as ours, so the ratios hold whatever the machine's load)."""
    agent = make(problem.n_arms, problem.n_features, 0)
    X, out = problem.contexts[0, :n], problem.outcomes[0, :n]
    t0 = time.perf_counter()
    for t in range(len(X)):
        a = agent.decide(X[t])
        agent.learn(X[t], a, float(out[t, a]))
    took = (time.perf_counter() - t0) / len(X)
    if hasattr(agent, "close"):
        agent.close()
    return took


def object_speed(policy, problem, n=2_000):
    """Seconds per select + update of one of our policy objects, one customer at a time."""
    X, out = problem.contexts[0, :n], problem.outcomes[0, :n]
    t0 = time.perf_counter()
    for t in range(len(X)):
        a = policy.select(X[t])
        policy.update(X[t], a, float(out[t, a]))
    return (time.perf_counter() - t0) / len(X)


def _load_cache(path):
    import json

    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def _save_cache(path, cache):
    import json

    if path:
        with open(path, "w") as f:
            json.dump(cache, f, indent=1)


def head_to_head(problems, peer_seeds=None, peer_problems=None, cache_path=None, only=None):
    speeds = {}
    for prob in problems:
        K, d = prob.n_arms, prob.n_features
        print(
            f"\n== {prob.name}: {prob.n_seeds} seeds x {prob.n_steps} customers, {K} arms, "
            f"{d} features; regret = expected reward lost to the oracle per 10,000 customers"
        )
        rows, took = run_ours(ours(K, d, prob.name), prob)
        print(f"   ours: {len(rows)} policies, all seeds at once, in {took:.0f} s")
        skipped = {}
        if peer_problems is not None and prob.name not in peer_problems:
            print(f"   peers not run on {prob.name} (--peer-problems)")
        cache = _load_cache(cache_path)
        for name, make in peers(K, d).items():
            if peer_problems is not None and prob.name not in peer_problems:
                break
            if only and not any(word.lower() in name.lower() for word in only):
                continue
            key = f"{prob.name}|{prob.n_seeds}x{prob.n_steps}|{name}"
            if key in cache:  # measured before by the same protocol (--cache)
                regrets, per = np.array(cache[key]["regrets"]), cache[key]["per_decision"]
                regrets = regrets[:peer_seeds] if peer_seeds else regrets
            else:
                try:
                    regrets, per = run_peer(make, prob, n_seeds=peer_seeds)
                except Skip as why:
                    skipped[name] = str(why)
                    continue
                cache[key] = {"regrets": regrets.tolist(), "per_decision": per}
                _save_cache(cache_path, cache)
            rows[
                f"{name}" + (f" [{regrets.size} seeds]" if regrets.size < prob.n_seeds else "")
            ] = np.concatenate([regrets, np.full(prob.n_seeds - regrets.size, np.nan)])
            speeds.setdefault(prob.name, {})[name] = peer_speed(make, prob)
            print(f"   {name}: {per * 1e6:.0f} us per decision + update")
            sys.stdout.flush()
        ref = min((n for n in rows if "class defaults" in n), key=lambda n: np.nanmean(rows[n]))
        print("   reference (first row): our best policy at its class defaults")
        ordered = {ref: rows[ref], **{n: r for n, r in rows.items() if n != ref}}
        table_nan(ordered, ref)
        for name, why in skipped.items():
            print(f"   skipped {name}: {why}")
        for label, policy in (
            ("LinearTS", LinearTS(K, d, rng=0)),
            ("NIGLinearTS", NIGLinearTS(K, d, rng=0)),
        ):
            speeds.setdefault(prob.name, {})[f"ours: {label}.select + update"] = object_speed(
                policy, prob
            )
    print("\n== speed: one decision + update, one customer at a time (the first seed)")
    for pname, sp in speeds.items():
        base = sp.get("ours: LinearTS.select + update")
        for name, per in sorted(sp.items(), key=lambda kv: kv[1]):
            print(f"   {pname:<7} {name:<80} {per * 1e6:8.0f} us  {per / base:6.1f}x LinearTS")


def table_nan(rows, ref):
    """:func:`table` for rows where a peer ran on fewer seeds (NaN elsewhere): paired over the
    seeds both ran."""
    width = max(len(n) for n in rows) + 2
    print(f"  {'policy':<{width}} {'regret per 10k':>16} {'paired difference':>22}")
    for name, r in rows.items():
        ok = ~np.isnan(r)
        m, se = mean_se(r[ok])
        if name == ref:
            diff = "(reference)"
        else:
            dm, dse = mean_se((r - rows[ref])[ok])
            diff = f"{dm:+7.1f} +- {dse:4.1f}"
        print(f"  {name:<{width}} {m:8.1f} +- {se:4.1f} {diff:>22}")


SMPY_SNIPPET = """
import contextlib, io, sys, time
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    from SMPyBandits.Arms import Bernoulli
    from SMPyBandits.Environment import Evaluator
    from SMPyBandits.Policies import Thompson
    H, R = int(sys.argv[1]), int(sys.argv[2])
    ev = Evaluator({"horizon": H, "repetitions": R, "n_jobs": 1, "verbosity": 0,
                    "environment": [{"arm_type": Bernoulli, "params": %r}],
                    "policies": [{"archtype": Thompson, "params": {}}]})
    t0 = time.perf_counter()
    for env_id, env in enumerate(ev.envs):
        ev.startOneEnv(env_id, env)
    took = time.perf_counter() - t0
print(took / (H * R))
"""


def bernoulli_speed(smpy_python=None, n_runs=1000, n_steps=5000, smpy_runs=4, smpy_steps=2000):
    """The Bernoulli simulator's cost per run-step: ours (all runs at once) against
    SMPyBandits' Evaluator (one repetition at a time), Beta-Bernoulli Thompson sampling, 5 arms."""
    import subprocess

    rates = [0.030, 0.045, 0.028, 0.015, 0.060]
    t0 = time.perf_counter()
    simulate(
        {"TS": BetaBernoulliTS(5)},
        BernoulliBandit(rates, rng=1),
        n_steps=n_steps,
        n_runs=n_runs,
        rng=2,
    )
    ours_per = (time.perf_counter() - t0) / (n_runs * n_steps)
    print("\n== Bernoulli simulator, Thompson sampling, 5 arms: cost per run-step")
    print(
        f"   ours, simulate(): {n_runs} runs x {n_steps} steps: {ours_per * 1e9:8.0f} ns per run-step"
    )
    python = smpy_python or sys.executable
    proc = subprocess.run(
        [python, "-c", SMPY_SNIPPET % (rates,), str(smpy_steps), str(smpy_runs)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        print(f"   SMPyBandits skipped with {python}: {last}")
        return
    smpy = float(proc.stdout.split()[-1])
    print(
        f"   SMPyBandits Evaluator ({python}): {smpy_runs} repetitions x {smpy_steps} steps: "
        f"{smpy * 1e9:8.0f} ns per run-step, {smpy / ours_per:.0f}x ours"
    )


# ---------------------------------------------------------------------------------------
# The sweep that chose the class defaults
# ---------------------------------------------------------------------------------------
def sweep_grid(K, d, short=False):
    """Every setting tried, by family: name -> policy. ``short``: the finalists of the full
    grid on the credit-card case and their neighbours (what was measured on digits)."""
    grid = {"LinearTS": {}, "LinUCB": {}, "NIGLinearTS": {}, "LogisticTS": {}}
    if short:
        for pv, nv in [
            (0.1, 0.003),
            (0.1, 0.01),
            (0.3, 0.01),
            (1.0, 0.003),
            (1.0, 0.01),
            (0.3, 0.03),
            (1.0, 0.1),
        ]:
            grid["LinearTS"][f"LinearTS(prior_var={pv}, noise_var={nv})"] = LinearTS(
                K, d, prior_var=pv, noise_var=nv
            )
        for alpha, ridge in [(0.1, 1.0), (0.3, 1.0), (0.1, 3.0), (0.3, 3.0), (1.0, 1.0)]:
            grid["LinUCB"][f"LinUCB(alpha={alpha}, ridge={ridge})"] = LinUCB(
                K, d, alpha=alpha, ridge=ridge
            )
        for pv, a0, b0, c in [
            (3.0, 5.0, 0.5, 0.5),
            (3.0, 10.0, 1.0, 0.25),
            (3.0, 5.0, 0.5, 0.35),
            (1.0, 5.0, 0.5, 0.5),
            (3.0, 1.0, 0.1, 0.5),
            (1.0, 1.0, 0.1, 1.0),
        ]:
            grid["NIGLinearTS"][
                f"NIGLinearTS(prior_var={pv}, a0={a0}, b0={b0}, exploration={c})"
            ] = NIGLinearTS(K, d, prior_var=pv, a0=a0, b0=b0, exploration=c)
        for pv in (1.0, 3.0):
            grid["LogisticTS"][f"LogisticTS(prior_var={pv})"] = LogisticTS(K, d, prior_var=pv)
        return grid
    for pv in (0.1, 0.3, 1.0, 3.0):
        for nv in (0.003, 0.01, 0.03, 0.1):
            grid["LinearTS"][f"LinearTS(prior_var={pv}, noise_var={nv})"] = LinearTS(
                K, d, prior_var=pv, noise_var=nv
            )
    for alpha in (0.03, 0.1, 0.3, 1.0):
        for ridge in (0.3, 1.0, 3.0, 10.0):
            grid["LinUCB"][f"LinUCB(alpha={alpha}, ridge={ridge})"] = LinUCB(
                K, d, alpha=alpha, ridge=ridge
            )
    for c in (0.25, 0.35, 0.5, 0.7, 1.0):
        for pv in (0.3, 1.0, 3.0):
            grid["NIGLinearTS"][f"NIGLinearTS(prior_var={pv}, a0=1.0, b0=0.1, exploration={c})"] = (
                NIGLinearTS(K, d, prior_var=pv, a0=1.0, b0=0.1, exploration=c)
            )
    for a0, b0 in [(5.0, 0.5), (10.0, 1.0)]:  # a noise prior worth 10 or 20 rewards
        for pv in (1.0, 3.0):
            for c in (0.25, 0.35, 0.5):
                grid["NIGLinearTS"][
                    f"NIGLinearTS(prior_var={pv}, a0={a0}, b0={b0}, exploration={c})"
                ] = NIGLinearTS(K, d, prior_var=pv, a0=a0, b0=b0, exploration=c)
    for pv in (0.1, 0.3, 1.0, 3.0, 10.0):
        grid["LogisticTS"][f"LogisticTS(prior_var={pv})"] = LogisticTS(K, d, prior_var=pv)
    return grid


def sweep(problems, short=False):
    """Regret of every setting on every problem (paired: the same customers and outcomes);
    per family, the settings within two standard errors of the family's best (of the paired
    difference) on every problem."""
    near = {}
    for prob in problems:
        grid = sweep_grid(prob.n_arms, prob.n_features, short)
        print(
            f"\n== sweep on {prob.name}: {prob.n_seeds} seeds x {prob.n_steps} customers, "
            f"{prob.n_arms} arms, {prob.n_features} features"
        )
        for family, policies in grid.items():
            res, took = run_ours(policies, prob)
            best = min(res, key=lambda n: res[n].mean())
            print(f"-- {family}: {len(policies)} settings in {took:.0f} s; best {best}")
            rows = dict(sorted(res.items(), key=lambda kv: kv[1].mean()))
            table(rows, best)
            for name, r in res.items():
                dm, dse = mean_se(r - res[best])
                ok = dm <= 2 * dse if name != best else True
                near.setdefault(family, {}).setdefault(name, []).append(ok)
            sys.stdout.flush()
    print("\n== settings within two standard errors of their family's best on every problem")
    for family, names in near.items():
        good = [n for n, oks in names.items() if all(oks)]
        print(f"  {family}: {', '.join(good) if good else '(none)'}")


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="3 seeds x 1,000 customers (a smoke test)")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--problems", default="credit,digits")
    ap.add_argument("--sweep", action="store_true", help="the sweep that chose the defaults")
    ap.add_argument("--short", action="store_true", help="with --sweep: the finalists only")
    ap.add_argument(
        "--peer-seeds",
        type=int,
        default=None,
        help="run the peers on the first N seeds only (paired on those)",
    )
    ap.add_argument(
        "--peer-problems", default=None, help="run the peers on these problems only (default: all)"
    )
    ap.add_argument(
        "--only-peers",
        default=None,
        help="comma-separated words: run only the peers whose name holds one",
    )
    ap.add_argument(
        "--cache",
        default=None,
        help="a JSON file keeping the peers' results between runs (same protocol)",
    )
    ap.add_argument(
        "--smpy-python",
        default=None,
        help="a Python with SMPyBandits importable (it needs SciPy < 1.14)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.steps = 3, 1_000
    print(
        f"bench_peers: Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start"
    )
    problems = [PROBLEMS[name](args.seeds, args.steps) for name in args.problems.split(",")]
    if args.sweep:
        sweep(problems, args.short)
    else:
        head_to_head(
            problems,
            args.peer_seeds,
            args.peer_problems.split(",") if args.peer_problems else None,
            args.cache,
            args.only_peers.split(",") if args.only_peers else None,
        )
        bernoulli_speed(args.smpy_python)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
