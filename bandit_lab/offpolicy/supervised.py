"""Real data no one here wrote: classification data sets turned into bandit logs.

Taught in notebooks/11_learning_from_logs.ipynb.

The standard supervised-to-bandit protocol (Dudik, Langford and Li 2011; Bietti, Agarwal and
Langford's contextual bandit bake-off): each labelled example ``(x, y)`` of a
classification data set becomes a round with context ``x`` and one arm per class; the
reward of arm ``a`` is 1 if ``a == y`` and 0 otherwise. A logging policy picks one arm,
and only *its* reward is revealed, as in a bandit's log. Because the full labels are
known, a target policy's true value is known too: its expected accuracy,
``(1/n) sum_i pi(y_i | x_i)`` (:func:`label_value`), against which every estimator can be
checked.

The data sets ship with scikit-learn (no download): ``"digits"`` (1,797 8x8 images of
handwritten digits, 10 classes), ``"wine"`` (178 wines, 13 chemical measurements,
3 cultivars), ``"iris"`` and ``"breast_cancer"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._rng import RNGLike, resolve_rng
from .._validation import check_int, check_probability
from .logged import LoggedFeedback, check_probabilities, sample_actions
from .targets import GreedyPolicy

__all__ = ["load_classification", "supervised_to_bandit", "classifier_policy", "label_value"]

_LOADERS = {
    "digits": "load_digits",
    "wine": "load_wine",
    "iris": "load_iris",
    "breast_cancer": "load_breast_cancer",
}


def load_classification(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Features (standardised) and labels of a data set that ships with scikit-learn.

    Returns
    -------
    X : ndarray (n, d), y : ndarray of int (n,), n_classes : int

    >>> X, y, k = load_classification("digits")
    >>> X.shape, k
    ((1797, 64), 10)
    """
    if name not in _LOADERS:
        raise ValueError(f"name == {name!r}, must be one of {sorted(_LOADERS)}.")
    import sklearn.datasets

    data = getattr(sklearn.datasets, _LOADERS[name])()
    X = np.asarray(data.data, dtype=float)
    sd = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    y = np.asarray(data.target, dtype=np.int64)
    return X, y, int(y.max()) + 1


def supervised_to_bandit(
    X: ArrayLike,
    y: ArrayLike,
    logging_probabilities: ArrayLike,
    *,
    rng: RNGLike = None,
    n_classes: int | None = None,
) -> LoggedFeedback:
    """A bandit log from labelled data: the logger draws one arm per example from
    ``logging_probabilities`` (n, n_classes) and sees the reward ``1{arm == label}`` of that
    arm only.

    Examples
    --------
    >>> X = np.zeros((4, 1)); y = np.array([0, 1, 2, 0])
    >>> log = supervised_to_bandit(X, y, np.full((4, 3), 1 / 3), rng=0)
    >>> bool(np.all(log.rewards == (log.actions == y)))
    True
    """
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or y.size == 0 or y.min() < 0:
        raise ValueError("y must be a non-empty 1-D array of integer class labels >= 0.")
    n_classes = (
        int(y.max()) + 1
        if n_classes is None
        else check_int("n_classes", n_classes, minimum=int(y.max()) + 1)
    )
    probs = check_probabilities("logging_probabilities", logging_probabilities, y.size, n_classes)
    actions = sample_actions(probs, resolve_rng(rng))
    rows = np.arange(y.size)
    return LoggedFeedback(
        actions,
        (actions == y).astype(float),
        probs[rows, actions],
        contexts=X,
        n_arms=n_classes,
        logging_probabilities=probs,
    )


def classifier_policy(
    classifier: Any, n_classes: int, *, epsilon: float = 0.0, name: str = ""
) -> GreedyPolicy:
    """A fitted scikit-learn classifier as a policy: its most probable class, and with
    probability ``epsilon`` a uniformly random one (OBP's ``MultiClassToBanditReduction``
    builds its behaviour and evaluation policies the same way, with ``alpha = 1 - epsilon``).
    """
    n_classes = check_int("n_classes", n_classes, minimum=1)
    epsilon = check_probability("epsilon", epsilon)
    if not hasattr(classifier, "predict_proba") or not hasattr(classifier, "classes_"):
        raise TypeError(
            f"classifier is of type {type(classifier).__name__}, must be a fitted "
            "scikit-learn classifier (with predict_proba and classes_)."
        )
    columns = np.asarray(classifier.classes_, dtype=int)

    def scorer(contexts):
        out = np.full((len(contexts), n_classes), -1.0)
        out[:, columns] = classifier.predict_proba(np.asarray(contexts, dtype=float))
        return out

    return GreedyPolicy(scorer, n_classes, epsilon=epsilon, name=name or type(classifier).__name__)


def label_value(target_probabilities: ArrayLike, y: ArrayLike) -> float:
    """The target's true value on fully labelled data: its expected accuracy,
    ``mean_i pi(y_i | x_i)``.

    >>> label_value(np.array([[0.9, 0.1], [0.5, 0.5]]), np.array([0, 1]))
    0.7
    """
    y = np.asarray(y)
    pi = check_probabilities(
        "target_probabilities",
        target_probabilities,
        y.size,
        np.asarray(target_probabilities).shape[-1],
    )
    return float(pi[np.arange(y.size), y].mean())
