"""The widgets of notebooks 05 and 06, driven without a kernel by setting control values."""
import re

import numpy as np
import pytest

from bandit_lab import CreditCardEnv, GaussianLinearPosterior, LinearTS, LogisticTS, run_contextual
from bandit_lab.credit_card import ARCHETYPES, OFFER_NAMES, true_conversion
from bandit_lab.widgets import customer_explorer, posterior_lines


def _drive(set_value, values):
    """Move a control through ``values`` (how fast it redraws is measured in
    benchmarks/bench_widgets.py: a speed target, not a test)."""
    for v in values:
        set_value(v)


# -- posterior over lines (notebook 05) ------------------------------------------------------
def test_adding_observations_tightens_the_belief_and_redraws():
    w = posterior_lines(intercept=0.5, slope=1.2, noise_var=0.25, rng=3)
    first = w.summary_numbers()
    png = w.figure_image.image.value
    assert first["n_obs"] == 0 and first["intercept"] == 0.0        # the prior
    for _ in range(4):
        w.controls["add"].click()
    after = w.summary_numbers()
    assert after["n_obs"] == 20 and "<b>20</b> observations" in w.summary.value
    assert w.figure_image.image.value != png
    assert after["width_at_0"] < first["width_at_0"] / 2 and after["slope_sd"] < first["slope_sd"] / 2
    w.controls["n_obs"].value = 200
    final = w.summary_numbers()
    assert abs(final["slope"] - 1.2) < 4 * final["slope_sd"]
    assert abs(final["intercept"] - 0.5) < 4 * final["intercept_sd"]


def test_the_widget_belief_is_the_closed_form_on_the_revealed_points():
    w = posterior_lines(rng=1)
    w.controls["n_obs"].value = 37
    w.controls["prior_var"].value = 0.1
    x, r = w.data
    want = GaussianLinearPosterior.from_data(np.column_stack([np.ones(37), x[:37]]), r[:37],
                                             prior_var=0.1, noise_var=w.controls["noise_var"].value)
    np.testing.assert_allclose(w.posterior.mean, want.mean, rtol=1e-12)
    np.testing.assert_allclose(w.posterior.cov, want.cov, rtol=1e-12)
    w.controls["reset"].click()
    assert w.posterior.n_obs == 0


def test_lines_widget_redraws_and_checks_its_arguments():
    w = posterior_lines(rng=0)
    w.controls["n_obs"].value = 3  # warm the caches
    png = w.figure_image.image.value
    _drive(lambda v: setattr(w.controls["n_obs"], "value", v), range(5, 80, 8))
    assert w.figure_image.image.value != png
    with pytest.raises(ValueError, match=re.escape("noise_var == 0.0, must be a finite number > 0.")):
        posterior_lines(noise_var=0.0)
    with pytest.raises(ValueError, match=re.escape("prior_var == 500.0, must be in [0.001, 100]")):
        posterior_lines(prior_var=500.0)
    with pytest.raises(ValueError, match=re.escape("intercept == nan, must be a finite number.")):
        posterior_lines(intercept=float("nan"))


# -- a customer's sliders (notebook 06) ----------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    env = CreditCardEnv(n_customers=3_000, n_history=1_000, rng=0)
    policy = LinearTS(5, 11, prior_var=2.0, noise_var=0.05, rng=1)
    run_contextual(policy, env, n_steps=1500, rng=2)
    return policy, env


def test_sliders_go_through_the_fitted_pipeline_and_the_policy_is_left_alone(trained):
    policy, env = trained
    before = policy.to_json()
    w = customer_explorer(policy, env, archetype="frequent_traveller")
    nums = w.numbers()
    np.testing.assert_allclose(nums["x"], env.context_of(w.customer())[0])
    np.testing.assert_allclose(nums["x"], env.context_of(ARCHETYPES["frequent_traveller"])[0], atol=1e-12)
    np.testing.assert_allclose(nums["mean"], policy.expected_reward(nums["x"]))
    np.testing.assert_allclose(nums["truth"], true_conversion(ARCHETYPES["frequent_traveller"])[0])
    assert nums["choice"].sum() == pytest.approx(1.0)
    assert np.all(nums["low"] <= nums["mean"]) and np.all(nums["mean"] <= nums["high"])
    assert policy.to_json() == before


def test_moving_a_slider_changes_the_belief_the_table_and_the_picture(trained):
    policy, env = trained
    w = customer_explorer(policy, env, archetype="grocery_shopper")
    png, text = w.figure_image.image.value, w.summary.value
    business = OFFER_NAMES.index("business_expense_card")
    before = w.numbers()["mean"][business]
    w.controls["has_business"].value = True
    after = w.numbers()
    assert after["mean"][business] > before + 0.05          # it learned the business flag matters
    assert "the truly best offer is <b>business_expense_card</b>" in w.summary.value
    assert w.summary.value != text and w.figure_image.image.value != png
    row = rf"<tr[^>]*><td[^>]*>business_expense_card</td><td[^>]*>{after['mean'][business]:.3f}</td>"
    assert re.search(row, w.summary.value)


def test_the_archetype_picker_sets_every_slider(trained):
    policy, env = trained
    w = customer_explorer(policy, env)
    w.controls["archetype"].value = "small_business_owner"
    record = w.customer()
    for key, value in ARCHETYPES["small_business_owner"].items():
        assert record[key] == pytest.approx(value), key


def test_customer_widget_redraws_fast_and_checks_its_arguments(trained):
    policy, env = trained
    w = customer_explorer(policy, env)
    w.controls["age"].value = 30  # warm the caches
    _drive(lambda v: setattr(w.controls["age"], "value", v), range(31, 41))
    assert "chosen in" in customer_explorer(LogisticTS(5, 11), env).summary.value
    with pytest.raises(TypeError, match="policy is of type str, must be a LinearTS or LogisticTS."):
        customer_explorer("ts", env)
    with pytest.raises(ValueError, match="env must be the CreditCardEnv whose features"):
        customer_explorer(LinearTS(5, 3), env)
    with pytest.raises(ValueError, match="archetype == 'student', must be one of"):
        customer_explorer(policy, env, archetype="student")


# -- every control changes what the model sees; a probability axis ------------------------------
def test_every_control_changes_the_customer_the_model_sees(trained):
    # A control that changes nothing a learner can see has no place (the credit limit
    # did: the pipeline reads only balance / limit). Each control, moved alone, must
    # change the model's features of the customer.
    policy, env = trained
    w = customer_explorer(policy, env, archetype="grocery_shopper")
    assert "credit_limit_k" not in w.controls
    for name, ctl in w.controls.items():
        w.load_archetype("grocery_shopper")
        before = w.numbers()["x"]
        if name == "archetype":
            ctl.value = "small_business_owner"
        elif isinstance(ctl.value, bool):
            ctl.value = not ctl.value
        else:
            ctl.value = ctl.max if ctl.value != ctl.max else ctl.min
        assert not np.allclose(w.numbers()["x"], before), f"{name} changes nothing the model sees"


def test_conversion_probabilities_are_shown_on_an_axis_from_zero(trained):
    policy, env = trained
    w = customer_explorer(policy, env, archetype="grocery_shopper")
    for archetype in ARCHETYPES:
        w.controls["archetype"].value = archetype
        nums = w.numbers()
        low, high = w._ax.get_xlim()
        assert low == 0.0 and high <= 1.0 and high >= nums["truth"].max()
        below = nums["mean"] < 0
        # a mean below 0 is marked at 0 (a triangle pointing off the axis), named in the key
        assert len(w._below.get_xdata()) == below.sum()
        assert np.all(np.asarray(w._below.get_xdata()) == 0.0)
        assert ("the mean is below 0" in w.summary.value) == bool(below.any())
        assert w._pick.get_xdata()[0] >= 0.0


def test_posterior_lines_labels_say_what_they_do():
    w = posterior_lines(rng=0)
    d = {k: c.description for k, c in w.controls.items()}
    assert d["prior_var"] == "prior variance" and d["noise_var"] == "assumed noise variance"
    assert "observations" in d["reset"] and "observations" in d["add"]
