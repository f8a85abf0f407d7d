"""Common checks, run over every policy class the package exports (context-free, contextual,
non-stationary, multi-objective, budgeted): a new policy gets them by being exported.

For each class: ``select`` is valid on a fresh policy; the same rng gives the same choices;
the state round-trips through JSON (and the rebuilt policy chooses as the original would);
``get_params`` follows the ``__init__`` signature; bad input gets an error naming the
parameter; the object's choice is the argmax of the very score function the vectorised
simulator calls on a run axis; and its propensities, where known, are probabilities that
match how often it chooses each arm.
"""

import importlib
import inspect
import json

import numpy as np
import pytest

import bandit_lab
from bandit_lab._base import BasePolicy
from bandit_lab.scores import argmax_random

FAMILY_BASES = {"Policy", "ContextualPolicy"}  # the families' own bases: not policies
N_ARMS, N_FEATURES = 3, 2

# How to build each exported policy (keyword arguments besides n_arms, n_features and rng).
EXAMPLES = {
    "BetaBernoulliTS": {"alpha0": 2.0, "beta0": 3.0},
    "EpsilonGreedy": {"epsilon": 0.2},
    "UCB1": {},
    "Softmax": {"tau": 0.1},
    "KLUCB": {"c": 0.5},
    "SlidingWindowTS": {"window": 4},
    "DiscountedTS": {"gamma": 0.9},
    "PerArmPriorTS": {"alpha0": [1.0, 2.0, 6.0], "beta0": [1.0, 3.0, 194.0]},
    "BudgetedTS": {"costs": [1.0, 0.5, 2.0], "budget": 1000.0},
    "MultiObjectiveTS": {"weights": {"click": 1.0, "revenue": 0.01}},
    "LinearTS": {"noise_var": 0.2},
    "LinUCB": {"alpha": 0.7},
    "LogisticTS": {"prior_var": 2.0},
    "NIGLinearTS": {"prior_var": 2.0, "exploration": 0.5},
}


def exported_policy_classes():
    names = set(bandit_lab.__all__)
    for pkg in ("contextual", "ab_testing", "production"):
        module = importlib.import_module(f"bandit_lab.{pkg}")
        names |= {f"{pkg}.{n}" for n in module.__all__}
    found = {}
    for name in sorted(names):
        obj = bandit_lab
        for part in name.split("."):
            obj = getattr(obj, part)
        if (
            inspect.isclass(obj)
            and issubclass(obj, BasePolicy)
            and obj.__name__ not in FAMILY_BASES
        ):
            found[obj.__name__] = obj
    return [found[k] for k in sorted(found)]


CLASSES = exported_policy_classes()


def test_every_exported_policy_has_an_example_here():
    missing = sorted(c.__name__ for c in CLASSES if c.__name__ not in EXAMPLES)
    assert not missing, f"add an example for {missing} to EXAMPLES"
    assert len(CLASSES) >= 13


def make(cls, rng=None):
    kwargs = dict(EXAMPLES[cls.__name__], rng=rng)
    if cls.family == "contextual":
        return cls(N_ARMS, N_FEATURES, **kwargs)
    return cls(N_ARMS, **kwargs)


class Driver:
    """Feeds a policy of any family a reproducible stream of situations and outcomes."""

    def __init__(self, policy, seed=0):
        self.p, self.rng = policy, np.random.default_rng(seed)

    def context(self):
        return self.rng.normal(size=N_FEATURES) if self.p.family == "contextual" else None

    def select(self, x):
        return self.p.select(x) if x is not None else self.p.select()

    def update(self, x, arm):
        win = bool(self.rng.random() < 0.3 + 0.2 * arm)
        if self.p.family == "contextual":
            self.p.update(x, arm, float(win))
        elif self.p.family == "funnel":
            self.p.update(arm, clicked=win, purchased=win, revenue=40.0 if win else None)
        else:
            self.p.update(arm, float(win))

    def play(self, n):
        arms = []
        for _ in range(n):
            x = self.context()
            arm = self.select(x)
            self.update(x, arm)
            arms.append(arm)
        return arms


@pytest.fixture(params=CLASSES, ids=lambda c: c.__name__)
def cls(request):
    return request.param


def test_select_is_valid_on_a_fresh_policy(cls):
    p = make(cls, rng=0)
    x = Driver(p).context()
    arm = p.select(x) if x is not None else p.select()
    assert isinstance(arm, int) and 0 <= arm < N_ARMS


def test_the_same_rng_gives_the_same_choices(cls):
    a = Driver(make(cls, rng=7)).play(40)
    b = Driver(make(cls, rng=np.random.default_rng(7))).play(40)
    c = Driver(make(cls, rng=np.random.PCG64(7))).play(40)  # a BitGenerator is accepted
    assert a == b == c


def test_state_round_trips_and_the_copy_chooses_alike(cls):
    p = make(cls, rng=1)
    Driver(p).play(25)
    text = p.to_json()
    back = cls.from_state(json.loads(text), rng=3)
    assert back.get_state() == json.loads(text)
    assert type(BasePolicy.from_state(text)) is cls  # the one registry finds it
    twin = cls.from_state(text, rng=3)
    assert Driver(back, seed=9).play(15) == Driver(twin, seed=9).play(15)


def test_params_follow_the_init_signature(cls):
    p = make(cls)
    expected = [n for n in inspect.signature(cls.__init__).parameters if n not in ("self", "rng")]
    assert list(p.get_params()) == expected
    json.dumps(p.get_params())  # plain data
    assert repr(p).startswith(f"{cls.__name__}({N_ARMS}")


def test_bad_input_is_refused_with_its_name(cls):
    p = make(cls, rng=0)
    d = Driver(p)
    x = d.context()
    with pytest.raises(ValueError, match=rf"arm == {N_ARMS}, must be an arm index"):
        if p.family == "contextual":
            p.update(x, N_ARMS, 1.0)
        elif p.family == "funnel":
            p.update(N_ARMS, clicked=True)
        else:
            p.update(N_ARMS, 1.0)
    with pytest.raises((TypeError, ValueError), match=r"^(reward|clicked) =="):
        if p.family == "contextual":
            p.update(x, 0, "yes")
        elif p.family == "funnel":
            p.update(0, clicked="yes")
        else:
            p.update(0, 1.5)
    if p.family == "contextual":
        with pytest.raises(ValueError, match=r"^x has shape \(3,\)"):
            p.select(np.ones(3))
    with pytest.raises(ValueError, match="n_arms == 0, must be >= 1"):
        cls(0, N_FEATURES, **EXAMPLES[cls.__name__]) if p.family == "contextual" else cls(
            0, **EXAMPLES[cls.__name__]
        )


def test_the_object_chooses_by_the_simulators_score_function(cls):
    p = make(cls, rng=2)
    Driver(p).play(20)
    state = p.get_state()
    for seed in range(5):
        obj = cls.from_state(state, rng=seed)
        x = Driver(obj, seed=seed).context()
        chosen = obj.select(x) if x is not None else obj.select()
        vec = cls.from_state(state)
        runs = {k: np.asarray(v)[None] for k, v in vec._state().items()}  # one run, run axis
        gen = np.random.default_rng(seed)
        scores = vec.scores(runs, x[None], gen) if x is not None else vec.scores(runs, gen)
        assert scores.shape == (1, N_ARMS)
        assert int(argmax_random(scores, gen)[0]) == chosen


def test_propensities_are_known_probabilities_or_refused_by_name(cls):
    p = make(cls, rng=4)
    Driver(p).play(30)
    x = Driver(p, seed=1).context()
    try:
        probs = p.propensities(x) if x is not None else p.propensities()
    except NotImplementedError as err:
        assert cls.__name__ in str(err) and "propensities" in str(err)
        return
    assert probs.shape == (N_ARMS,) and np.all(probs >= 0)
    assert probs.sum() == pytest.approx(1.0)
    if p.family == "budget":  # selecting spends the budget: not a frequency experiment
        return
    n = 3000
    copy = cls.from_state(p.get_state(), rng=11)
    picks = (
        np.bincount(
            [copy.select(x) if x is not None else copy.select() for _ in range(n)], minlength=N_ARMS
        )
        / n
    )
    se = np.sqrt(probs * (1 - probs) / n)
    assert np.all(np.abs(picks - probs) <= 5 * se + 1e-9), (picks, probs)
