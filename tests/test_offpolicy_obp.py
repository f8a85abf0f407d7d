"""Cross-check against Open Bandit Pipeline (Saito et al. 2021): on identical logged data and
the same reward-model predictions, bandit_lab.offpolicy's estimates equal obp.ope's.

OBP is not a dependency of the course (it is old and brings torch): this module is skipped
unless ``obp`` imports. To run it, in an environment of its own:

    python3.11 -m venv /tmp/obpvenv
    /tmp/obpvenv/bin/pip install torch                     # OBP imports it (its policy learners)
    /tmp/obpvenv/bin/pip install --no-deps --ignore-requires-python obp==0.5.7
    /tmp/obpvenv/bin/pip install -c constraints.txt numpy scipy pandas scikit-learn \\
        matplotlib seaborn tqdm pyyaml mypy-extensions pytest ipywidgets
    /tmp/obpvenv/bin/pip install --no-deps -e .
    /tmp/obpvenv/bin/python -m pytest -p no:cacheprovider -o addopts="" -s tests/test_offpolicy_obp.py

(obp 0.5.7 declares Python < 3.11 and pins 2022 releases; its estimators run unchanged on
Python 3.11 with the course's NumPy 2, SciPy and scikit-learn.) ``-s`` prints every value
compared.
"""

import numpy as np
import pytest

obp = pytest.importorskip("obp")

from obp.dataset import MultiClassToBanditReduction, SyntheticBanditDataset  # noqa: E402
from obp.ope import (  # noqa: E402
    DirectMethod,
    DoublyRobust,
    InverseProbabilityWeighting,
    RegressionModel,
    ReplayMethod,
    SelfNormalizedInverseProbabilityWeighting,
)
from sklearn.linear_model import LogisticRegression  # noqa: E402

from bandit_lab.offpolicy import (  # noqa: E402
    LoggedFeedback,
    classifier_policy,
    direct_method,
    doubly_robust,
    ips,
    label_value,
    load_classification,
    replay,
    snips,
)

TOL = 1e-9


def compare(name, feedback, action_dist, q):
    """Every estimator of ours against OBP's on one log; prints the values."""
    log = LoggedFeedback(
        feedback["action"],
        feedback["reward"],
        feedback["pscore"],
        contexts=feedback["context"],
        n_arms=feedback["n_actions"],
    )
    pi = action_dist[:, :, 0]
    qq = q[:, :, 0]
    common = dict(reward=feedback["reward"], action=feedback["action"], action_dist=action_dist)
    pairs = {
        "IPS": (
            ips(log, pi).value,
            InverseProbabilityWeighting().estimate_policy_value(
                pscore=feedback["pscore"], **common
            ),
        ),
        "clipped IPS (max weight 5)": (
            ips(log, pi, max_weight=5.0).value,
            InverseProbabilityWeighting(lambda_=5.0).estimate_policy_value(
                pscore=feedback["pscore"], **common
            ),
        ),
        "SNIPS": (
            snips(log, pi).value,
            SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(
                pscore=feedback["pscore"], **common
            ),
        ),
        "DM": (
            direct_method(log, pi, qq).value,
            DirectMethod().estimate_policy_value(estimated_rewards_by_reg_model=q, **common),
        ),
        "DR": (
            doubly_robust(log, pi, qq).value,
            DoublyRobust().estimate_policy_value(
                pscore=feedback["pscore"], estimated_rewards_by_reg_model=q, **common
            ),
        ),
    }
    print(f"\n{name}: n = {log.n_rounds}, {log.n_arms} arms (obp {obp.__version__})")
    for method, (ours, theirs) in pairs.items():
        print(
            f"  {method:<28} bandit_lab {ours:.15f}   obp {theirs:.15f}   "
            f"difference {abs(ours - theirs):.1e}"
        )
    for method, (ours, theirs) in pairs.items():
        assert abs(ours - theirs) <= TOL, (name, method, ours, theirs)
    return log


def test_synthetic_log_equals_obp():
    dataset = SyntheticBanditDataset(
        n_actions=10, dim_context=5, reward_type="binary", beta=-2.0, random_state=12345
    )
    feedback = dataset.obtain_batch_bandit_feedback(n_rounds=10_000)
    rng = np.random.default_rng(0)
    # a target that leans on the (hidden) expected rewards, softly
    logits = 8.0 * feedback["expected_reward"] + rng.normal(size=feedback["expected_reward"].shape)
    pi = np.exp(logits - logits.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    action_dist = pi[:, :, None]
    model = RegressionModel(n_actions=10, base_model=LogisticRegression(max_iter=1000))
    q = model.fit_predict(
        context=feedback["context"],
        action=feedback["action"],
        reward=feedback["reward"],
        n_folds=3,
        random_state=12345,
    )
    compare("synthetic (obp.dataset.SyntheticBanditDataset)", feedback, action_dist, q)
    # replay on a uniformly random log with a deterministic target
    uniform = dict(feedback, action=rng.integers(10, size=10_000), pscore=np.full(10_000, 0.1))
    uniform["reward"] = rng.binomial(
        1, feedback["expected_reward"][np.arange(10_000), uniform["action"]]
    )
    greedy = np.eye(10)[feedback["expected_reward"].argmax(axis=1)][:, :, None]
    ours = replay(
        LoggedFeedback(uniform["action"], uniform["reward"], uniform["pscore"], n_arms=10),
        greedy[:, :, 0],
    ).value
    theirs = ReplayMethod().estimate_policy_value(
        reward=uniform["reward"], action=uniform["action"], action_dist=greedy
    )
    print(
        f"  {'replay (uniform logger)':<28} bandit_lab {ours:.15f}   obp {theirs:.15f}   "
        f"difference {abs(ours - theirs):.1e}"
    )
    assert abs(ours - theirs) <= TOL


def test_digits_log_equals_obp():
    X, y, k = load_classification("digits")
    dataset = MultiClassToBanditReduction(
        X=X,
        y=y,
        base_classifier_b=LogisticRegression(max_iter=300),
        alpha_b=0.7,
        dataset_name="digits",
    )
    dataset.split_train_eval(eval_size=0.7, random_state=0)
    feedback = dataset.obtain_batch_bandit_feedback(random_state=0)
    action_dist = dataset.obtain_action_dist_by_eval_policy(
        base_classifier_e=LogisticRegression(C=100, max_iter=1000), alpha_e=0.9
    )
    model = RegressionModel(n_actions=k, base_model=LogisticRegression(max_iter=1000))
    q = model.fit_predict(
        context=feedback["context"],
        action=feedback["action"],
        reward=feedback["reward"],
        n_folds=3,
        random_state=0,
    )
    compare("digits (obp.dataset.MultiClassToBanditReduction)", feedback, action_dist, q)
    # the ground truth: OBP's and ours agree
    truth = dataset.calc_ground_truth_policy_value(action_dist)
    ours = label_value(action_dist[:, :, 0], dataset.y_ev)
    print(f"  {'true value (accuracy)':<28} bandit_lab {ours:.15f}   obp {truth:.15f}")
    assert abs(ours - truth) <= TOL
    # and our classifier policy is OBP's behaviour policy (alpha_b = 1 - epsilon)
    clf = LogisticRegression(max_iter=300).fit(dataset.X_tr, dataset.y_tr)
    ours_b = classifier_policy(clf, k, epsilon=0.3).action_probabilities(dataset.X_ev)
    np.testing.assert_allclose(ours_b, feedback["pi_b"][:, :, 0], atol=1e-12)
