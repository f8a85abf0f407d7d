"""Off-policy estimators: the value a target policy would have earned, from a log.

Taught in notebooks/11_learning_from_logs.ipynb.

Notation: round ``i`` of the log has context ``x_i``, logged action ``a_i``, reward ``r_i``
and propensity ``p_i`` (the logger's probability of ``a_i``). The target policy puts
probability ``pi(a | x_i)`` on each arm; ``w_i = pi(a_i | x_i) / p_i`` is the importance
weight of round ``i``; ``q(x, a)`` is a model's prediction of the reward of arm ``a`` at
``x``. The estimates of the target's value ``V = E_x E_{a ~ pi} [r]``:

    replay (Li et al. 2011)   mean of r_i over the rounds where the target chose a_i;
                              unbiased for a uniformly random logger only
    IPS                       (1/n) sum w_i r_i; unbiased whenever every p_i is right
                              and positive where pi is
    SNIPS                     sum w_i r_i / sum w_i; a little biased, often far less variable
    DM (direct method)        (1/n) sum_i sum_a pi(a | x_i) q(x_i, a); as good as q
    DR (doubly robust)        DM + (1/n) sum w_i (r_i - q(x_i, a_i)); unbiased if the
                              propensities are right, whatever q; low variance if q is good

Every function returns an :class:`Estimate`: the value, its standard error, a normal
confidence interval at ``level``, the number of rounds and the effective sample size
``(sum w)^2 / sum w^2`` (Kish): how many rounds of the target's own traffic the weighted
log is worth. The per-round terms are kept in ``Estimate.terms``.

The intervals come from the spread of the per-round terms (the delta method for SNIPS and
replay). They cover the truth at their level when the terms' distribution is not too
heavy-tailed for the number of rounds; a tiny effective sample size is the warning sign.
DM's interval reflects sampling only, never the model's bias.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .._rng import RNGLike
from .._validation import check_positive, check_probability
from ._checks import restrict_to_eligible
from .logged import LoggedFeedback, _check_log, check_probabilities
from .reward_models import fit_reward_model

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Estimate",
    "ips",
    "snips",
    "direct_method",
    "doubly_robust",
    "evaluate",
    "effective_sample_size",
]


@dataclass(frozen=True)
class Estimate:
    """An estimate of a policy's value, with its uncertainty.

    Attributes
    ----------
    method : str
    value : float
    se : float
        Standard error.
    low, high : float
        The ``level`` confidence interval.
    level : float
    n : int
        Rounds in the log.
    ess : float
        Effective sample size: rounds of the target's own traffic the log is worth.
    terms : ndarray
        What is averaged, one per round (for replay, the matched rounds' rewards).
    """

    method: str
    value: float
    se: float
    low: float
    high: float
    level: float
    n: int
    ess: float
    terms: np.ndarray = field(repr=False, compare=False)

    @property
    def interval(self) -> tuple[float, float]:
        return (self.low, self.high)

    def covers(self, truth: float) -> bool:
        """Whether the confidence interval contains ``truth``."""
        return bool(self.low <= truth <= self.high)

    def __str__(self):
        return (
            f"{self.method}: {self.value:.4f} [{self.low:.4f}, {self.high:.4f}] "
            f"({self.level:.0%} CI, n = {self.n:,}, effective sample size {self.ess:,.0f})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "value": self.value,
            "se": self.se,
            "low": self.low,
            "high": self.high,
            "ess": self.ess,
            "n": self.n,
        }


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of importance weights.

    >>> effective_sample_size([1.0, 1.0, 1.0, 1.0]), effective_sample_size([4.0, 0.0, 0.0, 0.0])
    (4.0, 1.0)
    """
    w = np.asarray(weights, dtype=float)
    total = np.square(w).sum()
    return float(w.sum() ** 2 / total) if total > 0 else 0.0


def _z(level):
    return float(special.ndtri(0.5 + level / 2))


def _make(method, value, se, level, n, ess, terms):
    half = _z(level) * se
    return Estimate(
        method,
        float(value),
        float(se),
        float(value - half),
        float(value + half),
        float(level),
        int(n),
        float(ess),
        terms,
    )


def _target(log, target, rng=None):
    """The target's (n, K) probabilities for the log's rounds."""
    from .targets import action_probabilities

    if isinstance(target, np.ndarray) and target.ndim == 2:
        pi = check_probabilities("target", target, log.n_rounds, log.n_arms)
    else:
        pi = action_probabilities(
            target,
            log.contexts if log.contexts is not None else np.zeros((log.n_rounds, 0)),
            n_arms=log.n_arms,
            rng=rng,
        )
    return restrict_to_eligible(pi, getattr(log, "eligible", None))


def _level(level):
    return check_probability("level", level, open_low=True, open_high=True)


def _mean_se(terms):
    n = terms.size
    return terms.mean(), (terms.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan)


def ips(
    log: LoggedFeedback, target: Any, *, level: float = 0.95, max_weight: float | None = None
) -> Estimate:
    """Inverse propensity scoring: ``(1/n) sum_i w_i r_i``.

    Unbiased when the log's propensities are the logger's true probabilities and the
    logger gave every action the target may take a positive probability. Its variance
    grows with the weights: a logger that rarely explores makes it explode.

    Parameters
    ----------
    log : LoggedFeedback
    target
        The target policy: an ``(n_rounds, n_arms)`` array of its action probabilities
        for the log's rounds, or anything :func:`~bandit_lab.offpolicy.action_probabilities`
        accepts (evaluated on the log's contexts).
    level : float in (0, 1)
    max_weight : float, optional
        Clip the weights at this value (biased, less variable); None keeps them.

    Examples
    --------
    >>> from bandit_lab.offpolicy import LoggedFeedback
    >>> log = LoggedFeedback([0, 1, 1, 0], [1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5])
    >>> always_0 = np.array([[1.0, 0.0]] * 4)
    >>> ips(log, always_0).value    # (2 * 1 + 0 + 0 + 2 * 0) / 4
    0.5
    """
    log = _check_log(log)
    level = _level(level)
    pi = _target(log, target)
    w = pi[np.arange(log.n_rounds), log.actions] / log.propensities
    if max_weight is not None:
        w = np.minimum(w, check_positive("max_weight", max_weight))
    terms = w * log.rewards
    value, se = _mean_se(terms)
    name = "IPS" if max_weight is None else f"clipped IPS (max weight {max_weight:g})"
    return _make(name, value, se, level, log.n_rounds, effective_sample_size(w), terms)


def snips(log: LoggedFeedback, target: Any, *, level: float = 0.95) -> Estimate:
    """Self-normalised IPS: ``sum_i w_i r_i / sum_i w_i``.

    A ratio of two unbiased sums: slightly biased for small logs, consistent, and usually
    far less variable than IPS when the weights vary a lot (adding a constant to every
    reward moves it by exactly that constant, which IPS does not do). The standard error
    is the delta method's, ``sqrt(sum w_i^2 (r_i - V)^2) / sum w_i`` (NaN when fewer than
    two rounds have a weight: one residual, always 0, says nothing of the spread). When the
    target never takes a logged action (every weight 0) the value is NaN.

    Examples
    --------
    >>> from bandit_lab.offpolicy import LoggedFeedback
    >>> log = LoggedFeedback([0, 1, 1, 0], [1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5])
    >>> snips(log, np.array([[1.0, 0.0]] * 4)).value    # (2 * 1 + 2 * 0) / (2 + 2)
    0.5
    """
    log = _check_log(log)
    level = _level(level)
    pi = _target(log, target)
    w = pi[np.arange(log.n_rounds), log.actions] / log.propensities
    total = w.sum()
    n = log.n_rounds
    if total <= 0:
        nan = np.full(n, np.nan)
        return _make("SNIPS", np.nan, np.nan, level, n, 0.0, nan)
    value = float((w * log.rewards).sum() / total)
    # the terms whose mean is the estimate: n w_i r_i / sum w
    terms = n * w * log.rewards / total
    resid = w * (log.rewards - value)
    se = np.sqrt(np.square(resid).sum() * n / max(n - 1, 1)) / total
    if np.count_nonzero(w) < 2:  # one weighted round: its residual is 0, its spread unknown
        se = np.nan
    return _make("SNIPS", value, se, level, n, effective_sample_size(w), terms)


def _reward_predictions(log, reward_model, rng=None):
    if isinstance(reward_model, np.ndarray) or isinstance(reward_model, (list, tuple)):
        q = np.asarray(reward_model, dtype=float)
        if q.shape != (log.n_rounds, log.n_arms):
            raise ValueError(
                f"reward_model has shape {q.shape}, must be ({log.n_rounds}, "
                f"{log.n_arms}): a predicted reward for every arm in every round."
            )
        bad = ~np.isfinite(q)
        if bad.any():
            i, k = np.unravel_index(int(np.flatnonzero(bad)[0]), q.shape)
            raise ValueError(
                f"reward_model[{i}, {k}] == {float(q[i, k])!r}, must be a finite number."
            )
        return q
    return fit_reward_model(log, reward_model, rng=rng)


def direct_method(
    log: LoggedFeedback, target: Any, reward_model: Any = None, *, level: float = 0.95
) -> Estimate:
    """The direct method: ``(1/n) sum_i sum_a pi(a | x_i) q(x_i, a)``.

    No weights, so little variance; but it is only as good as the reward model ``q``, and
    its bias (where the logger rarely went, the model extrapolates) does not show in the
    confidence interval, which reflects the sampling of contexts only.

    Parameters
    ----------
    reward_model : array of shape (n_rounds, n_arms), a scikit-learn regressor or None
        Predictions ``q(x_i, a)`` for every logged round and arm; or a regressor (or
        classifier, for 0/1 rewards) fitted per arm on the log by :func:`fit_reward_model`,
        cross-fitted on two halves; None is a ridge regression per arm, the same way.

    Examples
    --------
    >>> from bandit_lab.offpolicy import LoggedFeedback
    >>> log = LoggedFeedback([0, 1], [1.0, 0.0], [0.5, 0.5])
    >>> q = np.array([[0.6, 0.2], [0.6, 0.2]])
    >>> round(direct_method(log, np.array([[1.0, 0.0], [0.5, 0.5]]), q).value, 6)  # (0.6 + 0.4) / 2
    0.5
    """
    log = _check_log(log)
    level = _level(level)
    pi = _target(log, target)
    q = _reward_predictions(log, reward_model)
    terms = np.einsum("nk,nk->n", pi, q)
    value, se = _mean_se(terms)
    return _make("DM", value, se, level, log.n_rounds, float(log.n_rounds), terms)


def doubly_robust(
    log: LoggedFeedback, target: Any, reward_model: Any = None, *, level: float = 0.95
) -> Estimate:
    """Doubly robust: the direct method, corrected by IPS on the model's residuals.

    ``(1/n) sum_i [ sum_a pi(a | x_i) q(x_i, a) + w_i (r_i - q(x_i, a_i)) ]`` (Dudik,
    Langford and Li 2011). Unbiased when the propensities are right, whatever ``q``
    (the correction removes the model's bias on average), provided ``q`` was not fitted on
    the very rewards it corrects (hence the cross-fitting of :func:`fit_reward_model`);
    when ``q`` is good the residuals are small and so is the variance, below IPS's.
    ``reward_model`` as for :func:`direct_method`.

    Examples
    --------
    >>> from bandit_lab.offpolicy import LoggedFeedback
    >>> log = LoggedFeedback([0, 1], [1.0, 0.0], [0.5, 0.5])
    >>> q = np.array([[0.6, 0.2], [0.6, 0.2]])
    >>> round(doubly_robust(log, np.array([[1.0, 0.0], [1.0, 0.0]]), q).value, 6)  # 0.6 + 2 * 0.4 / 2
    1.0
    """
    log = _check_log(log)
    level = _level(level)
    pi = _target(log, target)
    q = _reward_predictions(log, reward_model)
    rows = np.arange(log.n_rounds)
    w = pi[rows, log.actions] / log.propensities
    terms = np.einsum("nk,nk->n", pi, q) + w * (log.rewards - q[rows, log.actions])
    value, se = _mean_se(terms)
    return _make("DR", value, se, level, log.n_rounds, effective_sample_size(w), terms)


METHODS = ("replay", "IPS", "SNIPS", "DM", "DR")


def evaluate(
    log: LoggedFeedback,
    target: Any,
    *,
    reward_model: Any = None,
    methods: Sequence[str] = ("IPS", "SNIPS", "DM", "DR"),
    level: float = 0.95,
    truth: float | None = None,
    rng: RNGLike = None,
) -> pd.DataFrame:
    """Several estimates of one target policy's value from one log, as a DataFrame.

    Parameters
    ----------
    log : LoggedFeedback
    target
        As for :func:`ips`.
    reward_model
        As for :func:`direct_method`; fitted once and shared by DM and DR.
    methods : sequence of {"replay", "IPS", "SNIPS", "DM", "DR"}
    truth : float, optional
        The true value, when known (a simulation): adds ``error`` and ``covers`` columns.

    Returns
    -------
    pandas.DataFrame indexed by method: ``value``, ``se``, ``low``, ``high``, ``ess``
    """
    import pandas as pd

    from .replay import replay

    functions = {
        "replay": replay,
        "IPS": ips,
        "SNIPS": snips,
        "DM": direct_method,
        "DR": doubly_robust,
    }
    log = _check_log(log)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods contains {unknown[0]!r}, must be among {list(METHODS)}.")
    pi = _target(log, target, rng)
    q = None
    if any(m in ("DM", "DR") for m in methods):
        q = _reward_predictions(log, reward_model, rng)
    rows = []
    for m in methods:
        if m in ("DM", "DR"):
            est = functions[m](log, pi, q, level=level)
        elif m == "replay":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the caller asked for it by name
                est = replay(log, pi, level=level, rng=rng)
        else:
            est = functions[m](log, pi, level=level)
        row = est.as_dict()
        if truth is not None:
            row["error"] = row["value"] - truth
            row["covers"] = est.covers(truth)
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")
