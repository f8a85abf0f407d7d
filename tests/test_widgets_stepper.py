"""The Thompson-sampling stepper of notebook 03, driven by clicking its buttons (no kernel)."""
import re

import numpy as np
import pytest

from bandit_lab import SOURCE_RATES, BetaPosterior
from bandit_lab.widgets import ts_stepper
from bandit_lab.widgets.stepper import TSStepper


def table(summary_html):
    """The per-arm rows of the summary table, as lists of cell texts."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", summary_html)
    return [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows if "<td" in r]


def test_starts_at_the_prior():
    w = ts_stepper(rng=0)
    assert set(w.controls) == {"step", "step 10", "step 100", "reset"}
    assert w.state.round == 0
    np.testing.assert_array_equal(w.state.policy.alpha_, np.ones(5))
    np.testing.assert_array_equal(w.state.policy.beta_, np.ones(5))
    assert w.state.samples is None
    assert "Round 0" in w.summary.value
    assert w.figure.image.value[:4] == b"\x89PNG"
    np.testing.assert_allclose([float(r[1]) for r in table(w.summary.value)], SOURCE_RATES)


def test_buttons_step_the_stated_number_of_rounds():
    w = ts_stepper(rng=1)
    before = w.figure.image.value
    w.controls["step"].click()
    assert w.state.round == 1
    assert w.figure.image.value != before
    w.controls["step 10"].click()
    w.controls["step 100"].click()
    assert w.state.round == 111
    assert int(w.state.counts.sum()) == 111
    assert len(w.state.rewards) == 111
    assert w.figure.renders == 4  # one render at build, one per click
    assert "Round 111" in w.summary.value


def test_posterior_matches_the_rewards_shown():
    w = ts_stepper([0.2, 0.5, 0.8], alpha0=2.0, beta0=3.0, rng=2)
    for _ in range(3):
        w.controls["step 10"].click()
    arms = np.array(w.state.arms)
    rewards = np.array(w.state.rewards)
    assert set(np.unique(rewards)) <= {0.0, 1.0}
    pulls = np.bincount(arms, minlength=3)
    wins = np.bincount(arms, weights=rewards, minlength=3)
    np.testing.assert_allclose(w.state.policy.alpha_, 2.0 + wins)
    np.testing.assert_allclose(w.state.policy.beta_, 3.0 + pulls - wins)
    # ... and the table says the same numbers, recomputed from the history.
    rows = table(w.summary.value)
    assert [int(r[2]) for r in rows] == pulls.tolist()
    np.testing.assert_allclose([float(r[3]) for r in rows], wins)
    np.testing.assert_allclose([float(r[4]) for r in rows], 2.0 + wins)
    np.testing.assert_allclose([float(r[5]) for r in rows], 3.0 + pulls - wins)
    means = BetaPosterior(2.0 + wins, 3.0 + pulls - wins).mean
    assert [r[6] for r in rows] == [f"{m:.3f}" for m in means]
    last = w.state.arms[-1]
    assert f"reward <b>{w.state.rewards[-1]:g}</b>" in w.summary.value
    assert f"chose <b>arm {last}</b>" in w.summary.value


def test_the_arm_chosen_has_the_highest_sample_from_the_previous_posterior():
    s = TSStepper([0.3, 0.4, 0.5, 0.6], rng=3)
    for _ in range(50):
        alpha, beta = s.policy.alpha_.copy(), s.policy.beta_.copy()
        s.step()
        assert s.arms[-1] == int(np.argmax(s.samples))
        np.testing.assert_array_equal(s.sampled_from.alpha, alpha)
        np.testing.assert_array_equal(s.sampled_from.beta, beta)
        assert np.all((s.samples > 0) & (s.samples < 1))


def test_same_seed_same_sequence_and_reset_starts_a_new_experiment():
    a, b, c = ts_stepper(rng=7), ts_stepper(rng=7), ts_stepper(rng=8)
    for w in (a, b, c):
        w.controls["step 100"].click()
    assert a.state.arms == b.state.arms and a.state.rewards == b.state.rewards
    assert a.figure.image.value == b.figure.image.value
    assert a.summary.value == b.summary.value
    assert a.state.arms != c.state.arms
    first = list(a.state.arms)
    for w in (a, b):
        w.controls["reset"].click()
    assert a.state.round == 0 and "Round 0" in a.summary.value
    np.testing.assert_array_equal(a.state.policy.alpha_, np.ones(5))
    for w in (a, b):
        w.controls["step 100"].click()
    assert a.state.arms == b.state.arms       # reset is reproducible too
    assert a.state.arms != first              # but it is a new experiment


def test_first_choice_is_uniform_over_arms():
    # With the same prior on every arm, round 1 picks each arm with probability 1/K.
    n, k = 3000, 5
    first = np.array([TSStepper(rng=seed).step().arms[0] for seed in range(n)])
    freq = np.bincount(first, minlength=k) / n
    se = np.sqrt((1 / k) * (1 - 1 / k) / n)
    assert np.all(np.abs(freq - 1 / k) < 4 * se), freq


def test_observed_rates_match_the_true_rates():
    s = TSStepper([0.2, 0.8], rng=4).step(600)
    pulls, wins = s.counts, s.successes
    assert pulls[1] > pulls[0]
    for k, rate in enumerate([0.2, 0.8]):
        if pulls[k] >= 20:
            se = np.sqrt(rate * (1 - rate) / pulls[k])
            assert abs(wins[k] / pulls[k] - rate) < 4 * se


@pytest.mark.parametrize("kwargs, error", [
    ({"rates": [0.2, 1.5]}, ValueError),
    ({"alpha0": 0.0}, ValueError),
    ({"beta0": "one"}, TypeError),
    ({"labels": ["only one"]}, ValueError),
])
def test_bad_input_is_rejected(kwargs, error):
    with pytest.raises(error):
        ts_stepper(**kwargs)


def test_step_count_is_checked():
    with pytest.raises(ValueError, match="n == 0"):
        TSStepper(rng=0).step(0)
