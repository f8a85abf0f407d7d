"""Judging estimators: many simulated logs at once, with the truth known.

Taught in notebooks/11_learning_from_logs.ipynb.

One log gives one estimate; whether an estimator is biased, and how much it varies, shows
only over many logs of the same kind. :func:`simulate_logs` draws ``n_logs`` logs of
``n_rounds`` each from a fixed logging policy on a simulated population, as arrays with a
log axis; :meth:`LogBatch.estimates` computes IPS, SNIPS, DM and DR for every log at once
(the same formulas as :mod:`bandit_lab.offpolicy.estimators`, vectorised over the logs,
with a ridge regression per arm and per log as the reward model), and
:meth:`LogBatch.log` gives any one of them as a :class:`LoggedFeedback` for the ordinary
functions (the tests check that both agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .._rng import RNGLike, resolve_rng
from .._validation import check_int, check_probability
from .logged import LoggedFeedback, check_probabilities, sample_actions
from .targets import action_probabilities

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["simulate_logs", "LogBatch", "summarize_estimates"]


@dataclass(frozen=True)
class LogBatch:
    """``n_logs`` logs of ``n_rounds`` rounds from one logger on one population.

    Attributes
    ----------
    contexts : ndarray (N, d)
        The population's contexts; ``rows`` index into it.
    expected : ndarray (N, K)
        Every arm's expected reward for every member of the population (the truth).
    logging_probabilities : ndarray (N, K)
        The logger's action probabilities for every member.
    rows, actions, rewards, propensities : ndarray (n_logs, n_rounds)
    """

    contexts: np.ndarray
    expected: np.ndarray
    logging_probabilities: np.ndarray
    rows: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    propensities: np.ndarray

    @property
    def n_logs(self) -> int:
        return self.rows.shape[0]

    @property
    def n_rounds(self) -> int:
        return self.rows.shape[1]

    @property
    def n_arms(self) -> int:
        return self.expected.shape[1]

    def log(self, i: int) -> LoggedFeedback:
        """Log ``i`` as a :class:`LoggedFeedback`."""
        r = self.rows[i]
        return LoggedFeedback(
            self.actions[i],
            self.rewards[i],
            self.propensities[i],
            contexts=self.contexts[r],
            n_arms=self.n_arms,
            logging_probabilities=self.logging_probabilities[r],
        )

    def true_value(self, target_probabilities: ArrayLike) -> float:
        """The target's exact value on the population: mean of ``sum_a pi(a|x) E[r|x,a]``."""
        pi = check_probabilities("target_probabilities", target_probabilities, *self.expected.shape)
        return float(np.einsum("nk,nk->n", pi, self.expected).mean())

    def reward_models(self, ridge: float = 1.0, n_folds: int = 2) -> np.ndarray:
        """Ridge regression per arm and per log (an unpenalised intercept), cross-fitted,
        predicted for every round of every log: shape (n_logs, n_rounds, K), by
        :func:`~bandit_lab.offpolicy.fit_reward_model` on each log."""
        from threadpoolctl import threadpool_limits

        from .reward_models import fit_reward_model

        out = np.empty(self.rows.shape + (self.n_arms,))
        # Many small products: one BLAS thread each is much faster than a team of them
        # (on a busy machine, 30 times: the threads wait for cores).
        with threadpool_limits(1, user_api="blas"):
            for i in range(self.n_logs):
                r = self.rows[i]
                log = LoggedFeedback(
                    self.actions[i],
                    self.rewards[i],
                    self.propensities[i],
                    contexts=self.contexts[r],
                    n_arms=self.n_arms,
                )
                out[i] = fit_reward_model(log, n_folds=n_folds, ridge=ridge)
        return out

    def mean_models(self) -> np.ndarray:
        """The simplest reward model: each arm's mean logged reward in each log, whoever it
        was shown to (the overall mean for an arm never tried), broadcast to shape
        (n_logs, n_rounds, K). It ignores the context, so where the logger showed an arm
        to the customers who like it, it flatters that arm for everyone."""
        onehot = self.actions[..., None] == np.arange(self.n_arms)  # (R, n, K)
        counts = onehot.sum(axis=1)
        sums = (onehot * self.rewards[..., None]).sum(axis=1)
        overall = self.rewards.mean(axis=1, keepdims=True)
        means = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
        return np.broadcast_to(means[:, None, :], self.rows.shape + (self.n_arms,))

    def estimates(
        self,
        target_probabilities: ArrayLike,
        *,
        reward_model: ArrayLike | None = None,
        level: float = 0.95,
    ) -> dict[str, dict[str, np.ndarray]]:
        """IPS, SNIPS, DM and DR of the target on every log at once.

        Parameters
        ----------
        target_probabilities : ndarray (N, K)
            The target's action probabilities for every member of the population.
        reward_model : ndarray (n_logs, n_rounds, K), optional
            Predicted rewards; by default :meth:`reward_models` (pass them in to share one
            fit between several targets).
        level : float

        Returns
        -------
        dict of method -> dict with ``value``, ``se``, ``low``, ``high`` and ``ess``,
        each an array over the logs.
        """
        level = check_probability("level", level, open_low=True, open_high=True)
        pi_all = check_probabilities(
            "target_probabilities", target_probabilities, *self.expected.shape
        )
        q = self.reward_models() if reward_model is None else np.asarray(reward_model, dtype=float)
        if q.shape != self.rows.shape + (self.n_arms,):
            raise ValueError(
                f"reward_model has shape {q.shape}, must be {self.rows.shape + (self.n_arms,)}."
            )
        pi = pi_all[self.rows]  # (R, n, K)
        chosen = np.take_along_axis(pi, self.actions[..., None], 2)[..., 0]
        w = chosen / self.propensities
        r = self.rewards
        n = self.n_rounds
        ess = np.square(w.sum(axis=1)) / np.maximum(np.square(w).sum(axis=1), 1e-300)
        z = float(special.ndtri(0.5 + level / 2))

        def pack(value, se, ess_):
            return {
                "value": value,
                "se": se,
                "low": value - z * se,
                "high": value + z * se,
                "ess": ess_,
            }

        def mean_se(terms):
            return terms.mean(axis=1), terms.std(axis=1, ddof=1) / np.sqrt(n)

        out = {"IPS": pack(*mean_se(w * r), ess)}
        total = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = (w * r).sum(axis=1) / total
            se = np.sqrt(np.square(w * (r - v[:, None])).sum(axis=1) * n / max(n - 1, 1)) / total
        se = np.where(np.count_nonzero(w, axis=1) < 2, np.nan, se)  # as snips: spread unknown
        out["SNIPS"] = pack(v, se, ess)
        dm = np.einsum("rnk,rnk->rn", pi, q)
        out["DM"] = pack(*mean_se(dm), np.full(self.n_logs, float(n)))
        qa = np.take_along_axis(q, self.actions[..., None], 2)[..., 0]
        out["DR"] = pack(*mean_se(dm + w * (r - qa)), ess)
        return out


def simulate_logs(
    env: Any, logging_policy: Any, *, n_rounds: int, n_logs: int, rng: RNGLike = None
) -> LogBatch:
    """``n_logs`` logs of ``n_rounds`` customers each, drawn from ``env``'s population and
    served by a fixed ``logging_policy`` (anything
    :func:`~bandit_lab.offpolicy.action_probabilities` accepts). ``env`` needs
    ``contexts`` (N, d) and ``expected`` (N, K), like ``CreditCardEnv``: customers are
    drawn uniformly from the population, as ``CreditCardEnv.serve`` does.

    Examples
    --------
    >>> from bandit_lab import CreditCardEnv
    >>> from bandit_lab.offpolicy import UniformPolicy
    >>> env = CreditCardEnv(n_customers=1_000, n_history=500, rng=0)
    >>> batch = simulate_logs(env, UniformPolicy(5), n_rounds=200, n_logs=30, rng=1)
    >>> batch.rewards.shape, batch.log(0).n_rounds
    ((30, 200), 200)
    """
    n_rounds = check_int("n_rounds", n_rounds, minimum=2)
    n_logs = check_int("n_logs", n_logs, minimum=1)
    for attr in ("contexts", "expected"):
        if not hasattr(env, attr):
            raise TypeError(
                f"env is of type {type(env).__name__}, must know its population "
                f"(it has no {attr!r}), like CreditCardEnv."
            )
    contexts = np.asarray(env.contexts, dtype=float)
    expected = np.asarray(env.expected, dtype=float)
    logging = action_probabilities(logging_policy, contexts, n_arms=expected.shape[1])
    gen = resolve_rng(rng)
    rows = gen.integers(contexts.shape[0], size=(n_logs, n_rounds))
    actions = sample_actions(logging[rows], gen)
    mean = np.take_along_axis(expected[rows], actions[..., None], 2)[..., 0]
    rewards = (gen.random(rows.shape) < mean).astype(float)
    props = np.take_along_axis(logging[rows], actions[..., None], 2)[..., 0]
    return LogBatch(contexts, expected, logging, rows, actions, rewards, props)


def summarize_estimates(estimates: dict[str, dict[str, np.ndarray]], truth: float) -> pd.DataFrame:
    """Bias, standard deviation, root mean squared error and interval coverage of each
    method's estimates over the logs, as a DataFrame."""
    import pandas as pd

    rows = []
    for method, e in estimates.items():
        v = e["value"]
        ok = np.isfinite(v)
        err = v[ok] - truth
        rows.append(
            {
                "method": method,
                "bias": err.mean(),
                "sd": err.std(ddof=1),
                "rmse": np.sqrt(np.mean(err**2)),
                "coverage": np.mean((e["low"][ok] <= truth) & (truth <= e["high"][ok])),
                "median_ess": float(np.median(e["ess"])),
                "undefined": int((~ok).sum()),
            }
        )
    return pd.DataFrame(rows).set_index("method")
