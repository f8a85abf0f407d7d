"""What a store keeps for one bandit, and how the service turns it into decisions.

Taught in notebooks/10_serving_a_bandit.ipynb.

A *spec* describes one served bandit: its kind, its arms, its prior and the rewards it
accepts. The store keeps, for every arm, a short vector of numbers that only ever grows by
addition, starting at the prior:

* :class:`BetaSpec`: ``[alpha, beta]``, starting at ``[alpha0, beta0]``; a reward ``r``
  adds ``[r, 1 - r]``.
* :class:`LinearSpec`: the Gaussian posterior's precision matrix and precision-weighted
  mean, ``[A (d*d entries), f (d entries)]``, starting at ``[I / prior_var, 0]``; a reward
  ``r`` for context ``x`` adds ``[x x' / noise_var, r x / noise_var]``.

Because every update is an addition, the store applies it as an atomic increment: two
service instances updating the same arm at the same time both count, and nobody ever
rewrites the whole state. The prior is the starting value, written with the spec the first
time the bandit is created, so it cannot be lost.

The maths is not here: Beta draws come from :func:`bandit_lab.scores.thompson_scores`,
intervals from :class:`bandit_lab.posteriors.BetaPosterior`, and the contextual model is
:class:`bandit_lab.contextual.LinearTS`, rebuilt from the stored numbers.
"""
from __future__ import annotations

import re
import numbers
from dataclasses import dataclass, replace

import numpy as np

from .._validation import check_int, check_positive, check_reward
from ..posteriors import BetaPosterior
from ..scores import thompson_scores

__all__ = ["BetaSpec", "LinearSpec", "spec_from_config", "check_arm_names", "check_text",
           "MAX_ARM_NAME", "StateUnusable"]

#: Longest arm name a bandit accepts (characters).
MAX_ARM_NAME = 200

_FORMAT = 1


# What a name may not hold: control characters (the schema's pattern) and lone surrogates
# (which UTF-8 cannot encode).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def check_text(name, value, *, max_length=MAX_ARM_NAME) -> str:
    """A name sent by a client: a non-empty string of at most ``max_length`` printable
    characters that UTF-8 can encode (no lone surrogate, no control character)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} == {_short(value)} is of type {type(value).__name__}, must be "
                        "a string.")
    if not value or len(value) > max_length:
        raise ValueError(f"{name} == {_short(value)} has {len(value)} characters, must have "
                         f"1 to {max_length}.")
    if _FORBIDDEN.search(value):
        raise ValueError(f"{name} == {_short(value)} holds a control character or a lone "
                         "surrogate, must be printable text.")
    return value


def check_arm_names(arms) -> tuple[str, ...]:
    """Arm names: a sequence of at least one distinct, non-empty, printable string."""
    if isinstance(arms, str) or not hasattr(arms, "__iter__"):
        raise TypeError(f"arms == {_short(arms)}, must be a sequence of arm names (strings).")
    names = tuple(arms)
    if not names:
        raise ValueError("arms == (), must name at least one arm.")
    for i, a in enumerate(names):
        check_text(f"arms[{i}]", a)
    if len(set(names)) != len(names):
        dup = next(a for a in names if names.count(a) > 1)
        raise ValueError(f"arms names {_short(dup)} twice, every arm name must be distinct.")
    return names


class StateUnusable(ValueError):
    """The stored numbers of a bandit cannot be decided with (a non-finite number: a state
    damaged outside the service). The service answers 503 rather than fail."""


def _check_bucket(value) -> float:
    return check_positive("bucket_seconds", value)


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


class _Spec:
    """What every spec shares: arms, rewards, configuration as JSON-ready data."""

    kind = ""
    arms: tuple[str, ...]
    binary: bool
    bucket_seconds: float

    @property
    def n_arms(self) -> int:
        return len(self.arms)

    def arm_index(self, arm, name="arm") -> int:
        """The index of ``arm`` (its name, or an integer index); ValueError if unknown."""
        if isinstance(arm, str):
            if arm in self.arms:
                return self.arms.index(arm)
            raise ValueError(f"{name} == {_short(arm)} is not an arm of this bandit, must be one "
                             f"of {_short(list(self.arms), 120)} (or an index in [0, "
                             f"{self.n_arms - 1}]).")
        if isinstance(arm, numbers.Integral) and not isinstance(arm, bool):
            if 0 <= int(arm) < self.n_arms:
                return int(arm)
            raise ValueError(f"{name} == {_short(arm)}, must be an arm index in [0, {self.n_arms - 1}] "
                             f"(or one of the names {_short(list(self.arms), 120)}).")
        raise TypeError(f"{name} == {_short(arm)} is of type {type(arm).__name__}, must be an "
                        "arm name (string) or index (integer).")

    def check_reward(self, reward) -> float:
        """The reward as a float, or a one-sentence TypeError/ValueError."""
        if not _is_number(reward):
            raise TypeError(f"reward == {_short(reward)} is of type {type(reward).__name__}, must be a "
                            "number" + (" (0 or 1)." if self.binary else " in [0, 1]."))
        if self.binary:
            if reward not in (0, 1):
                raise ValueError(f"reward == {_short(reward)}, must be 0 or 1 (this bandit counts "
                                 "conversions: 1 converted, 0 did not).")
            return float(reward)
        return check_reward(reward)

    def _base_config(self) -> dict:
        config = {"format": _FORMAT, "kind": self.kind, "arms": list(self.arms),
                  "binary": self.binary, "bucket_seconds": self.bucket_seconds}
        if self.added_arms:
            config["added_arms"] = self.added_arms
        return config

    def _check_added(self):
        added = check_int("added_arms", self.added_arms, minimum=0, maximum=self.n_arms - 1)
        object.__setattr__(self, "added_arms", added)

    def describe(self) -> str:
        return f"{self.kind}, {self.n_arms} arms"

    def extends(self, other) -> bool:
        """True if this spec is ``other`` with arms added at the end (each with its own
        prior): what a bandit becomes when arms are added to it while it runs."""
        if type(self) is not type(other) or self.n_arms < other.n_arms:
            return False
        if self == other:
            return True
        if other.n_arms < self.n_arms - self.added_arms:  # fewer arms than it was created with
            return False
        return replace(self._first(other.n_arms), added_arms=0) == replace(other, added_arms=0)

    def check_state(self, vectors) -> np.ndarray:
        """The stored numbers as a float array; :class:`StateUnusable` if one is not finite."""
        v = np.asarray(vectors, dtype=float)
        if not np.all(np.isfinite(v)):
            raise StateUnusable("its stored state holds numbers that are not finite (damaged "
                                "outside the service); restore the store from a backup.")
        return v

    def propensities(self, vectors, context=None, mask=None) -> np.ndarray:
        """The probability with which :meth:`scores` (and a random tie-break) picks each
        arm, exactly; 0 for arms outside ``mask`` (the eligible arms, a boolean array)."""
        eligible = np.arange(self.n_arms) if mask is None else np.flatnonzero(mask)
        p = np.zeros(self.n_arms)
        p[eligible] = self._propensities(np.asarray(vectors, dtype=float), context, eligible)
        return p

    def propensities_monte_carlo(self, vectors, context=None, mask=None, *, n_draws=250_000,
                                 rng=None):
        """:meth:`propensities` estimated from ``n_draws`` draws of the scores (standard
        error at most ``0.5 / sqrt(n_draws)``: 1e-3 with the default); returns
        ``(p, standard_error)``."""
        from ..propensities import monte_carlo_propensities

        vectors = np.asarray(vectors, dtype=float)
        eligible = np.arange(self.n_arms) if mask is None else np.flatnonzero(mask)
        p, se = monte_carlo_propensities(
            lambda n, g: self._draw_scores(vectors, context, g, n)[:, eligible], eligible.size,
            n_draws=n_draws, rng=rng)
        full_p, full_se = np.zeros(self.n_arms), np.zeros(self.n_arms)
        full_p[eligible], full_se[eligible] = p, se
        return full_p, full_se


@dataclass(frozen=True)
class BetaSpec(_Spec):
    """A Beta-Bernoulli Thompson-sampling bandit as the service stores it.

    Parameters
    ----------
    arms : sequence of str
        Arm names, in index order.
    alpha0, beta0 : float, default 1.0
        The prior, the same for every arm; the stored ``alpha`` and ``beta`` start here.
    binary : bool, default True
        Accept only rewards 0 and 1. With False, any reward in [0, 1] is accepted and a
        fraction counts as that fraction of a success.
    bucket_seconds : float, default 60.0
        Width of the time buckets in which traffic is counted for monitoring.

    Examples
    --------
    >>> spec = BetaSpec(["a", "b"], alpha0=2.0, beta0=40.0)
    >>> spec.prior().tolist()
    [[2.0, 40.0], [2.0, 40.0]]
    >>> spec.increment(None, 1.0).tolist()
    [1.0, 0.0]
    >>> BetaSpec.from_config(spec.to_config()) == spec
    True
    """

    arms: tuple[str, ...]
    alpha0: float = 1.0
    beta0: float = 1.0
    binary: bool = True
    bucket_seconds: float = 60.0
    arm_priors: tuple[tuple[float, float], ...] | None = None
    added_arms: int = 0
    kind = "beta"

    def __post_init__(self):
        object.__setattr__(self, "arms", check_arm_names(self.arms))
        object.__setattr__(self, "alpha0", check_positive("alpha0", self.alpha0))
        object.__setattr__(self, "beta0", check_positive("beta0", self.beta0))
        if not isinstance(self.binary, bool):
            raise TypeError(f"binary == {self.binary!r}, must be True or False.")
        object.__setattr__(self, "bucket_seconds", _check_bucket(self.bucket_seconds))
        if self.arm_priors is not None:
            priors = tuple(self.arm_priors)
            if len(priors) != self.n_arms:
                raise ValueError(f"arm_priors has {len(priors)} entries, must have one "
                                 f"(alpha0, beta0) pair per arm ({self.n_arms}).")
            priors = tuple((check_positive(f"arm_priors[{k}][0]", a),
                            check_positive(f"arm_priors[{k}][1]", b))
                           for k, (a, b) in enumerate(priors))
            same = all(p == (self.alpha0, self.beta0) for p in priors)
            object.__setattr__(self, "arm_priors", None if same else priors)
        self._check_added()

    def with_arm(self, arm, alpha0=None, beta0=None) -> BetaSpec:
        """This spec with one more arm, whose prior is ``Beta(alpha0, beta0)`` (default:
        the bandit's prior)."""
        priors = list(self.arm_priors or [(self.alpha0, self.beta0)] * self.n_arms)
        priors.append((self.alpha0 if alpha0 is None else alpha0,
                       self.beta0 if beta0 is None else beta0))
        return replace(self, arms=(*self.arms, arm), arm_priors=tuple(priors),
                       added_arms=self.added_arms + 1)

    def _first(self, n):
        return replace(self, arms=self.arms[:n], added_arms=max(0, self.added_arms - (self.n_arms - n)),
                       arm_priors=None if self.arm_priors is None else self.arm_priors[:n])

    @property
    def width(self) -> int:
        """How many numbers the store keeps per arm."""
        return 2

    def prior(self) -> np.ndarray:
        """The stored vectors before any reward, shape ``(n_arms, width)``."""
        if self.arm_priors is not None:
            return np.array(self.arm_priors, dtype=float)
        return np.tile([self.alpha0, self.beta0], (self.n_arms, 1))

    def check_context(self, context):
        """A Beta bandit takes no context: ``None`` (or an empty list) only."""
        if context is None or (isinstance(context, list) and not context):
            return None
        raise ValueError(f"context == {_short(context)}, must be absent: bandit of kind 'beta' "
                         "does not use a context.")

    def increment(self, context, reward) -> np.ndarray:
        """What one reward adds to its arm's vector."""
        return np.array([reward, 1.0 - reward])

    def scores(self, vectors, context, rng) -> np.ndarray:
        """One posterior draw per arm (Thompson sampling)."""
        return thompson_scores(vectors[:, 0], vectors[:, 1], rng)

    def _draw_scores(self, vectors, context, rng, n):
        return rng.beta(vectors[:, 0], vectors[:, 1], size=(n, self.n_arms))

    def _propensities(self, vectors, context, eligible):
        from ..propensities import thompson_propensities

        return thompson_propensities(vectors[eligible, 0], vectors[eligible, 1])

    def posterior(self, vectors) -> BetaPosterior:
        return BetaPosterior(vectors[:, 0], vectors[:, 1])

    def summary(self, vectors, level=0.95) -> list[dict]:
        """Posterior mean and equal-tailed credible interval of each arm's rate."""
        post = self.posterior(vectors)
        low, high = post.interval(level)
        return [{"alpha": float(vectors[k, 0]), "beta": float(vectors[k, 1]),
                 "mean": float(post.mean[k]), "low": float(low[k]), "high": float(high[k])}
                for k in range(self.n_arms)]

    def to_config(self) -> dict:
        config = {**self._base_config(), "alpha0": self.alpha0, "beta0": self.beta0}
        if self.arm_priors is not None:
            config["arm_priors"] = [list(p) for p in self.arm_priors]
        return config

    @classmethod
    def from_config(cls, config):
        priors = config.get("arm_priors")
        return cls(tuple(config["arms"]), alpha0=config["alpha0"], beta0=config["beta0"],
                   binary=config["binary"], bucket_seconds=config["bucket_seconds"],
                   arm_priors=None if priors is None else tuple(tuple(p) for p in priors),
                   added_arms=config.get("added_arms", 0))

    def describe(self) -> str:
        return f"beta, {self.n_arms} arms, prior Beta({self.alpha0:g}, {self.beta0:g})"


def _short(value, limit=60) -> str:
    """``repr(value)``, cut to at most ``limit`` characters: a message quotes what a client
    sent, never all of it."""
    if isinstance(value, (str, bytes, list, tuple, dict)) and len(value) > limit:
        value = value[:limit] if not isinstance(value, dict) else dict(list(value.items())[:8])
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


from .linear_spec import LinearSpec  # noqa: E402  (it builds on _Spec above)


def spec_from_config(config) -> BetaSpec | LinearSpec:
    """Rebuild a spec from the JSON configuration a store holds."""
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise ValueError(f"stored configuration {_short(config)} is not a bandit-lab service "
                         f"configuration of format {_FORMAT}.")
    kinds = {"beta": BetaSpec, "linear": LinearSpec}
    kind = config.get("kind")
    if kind not in kinds:
        raise ValueError(f"configuration kind == {kind!r}, must be one of {sorted(kinds)}.")
    return kinds[kind].from_config(config)
