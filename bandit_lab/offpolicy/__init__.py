"""Off-policy evaluation and learning: what would another policy have earned, from the logs
of the one that ran?

Taught in notebooks/11_learning_from_logs.ipynb.

Logs (``logged.py``, builders in ``sources.py``)
    LoggedFeedback        contexts, actions, rewards, propensities (and times), validated;
                          .from_frame, .from_history, .from_service_log, .split, .to_frame
    collect_log           run a fixed logging policy on an environment, recording propensities

Policies as action probabilities (``targets.py``)
    action_probabilities  (n, n_arms) choice probabilities of any policy for given contexts;
                          exact for LinearTS, LogisticTS and Beta TS
    UniformPolicy, GreedyPolicy, segment_policy    fixed policies (loggers, candidates)
    greedy_probabilities, epsilon_greedy_probabilities, credit_card_segments

Estimators (``estimators.py``, ``replay.py``, ``reward_models.py``) -- each returns an
Estimate: value, se, interval, ess
    replay                Li et al. (2011), for a uniformly random logger
    replay_learning       the same for a policy that learns as it goes
    ips, snips            inverse propensity scoring, and its self-normalised version
    direct_method         a reward model's predictions, averaged over the target's choices
    doubly_robust         the direct method corrected by IPS on its residuals
    evaluate              several of them at once, as a DataFrame
    PerArmRegression, fit_reward_model   reward models for DM and DR (ridge or scikit-learn,
                          cross-fitted)
    effective_sample_size

Learning (``learning.py``)
    fit_ipw_policy        inverse-propensity-weighted classification (scikit-learn)
    fit_dm_policy         the arm with the highest predicted reward
    true_value            a policy's exact value on a simulated population
    online_value          its value on fresh simulated traffic

Judging estimators (``study.py``) -- many simulated logs at once, the truth known
    simulate_logs, LogBatch, summarize_estimates

Real data (``supervised.py``) -- the supervised-to-bandit protocol on scikit-learn's data sets
    load_classification, supervised_to_bandit, classifier_policy, label_value

Propensities of the package's policies (from :mod:`bandit_lab.propensities`)
    thompson_propensities, gaussian_max_propensities, epsilon_greedy_propensities,
    softmax_propensities, monte_carlo_propensities
"""

from ..propensities import (
    epsilon_greedy_propensities,
    gaussian_max_propensities,
    monte_carlo_propensities,
    softmax_propensities,
    thompson_propensities,
)
from .estimators import (
    Estimate,
    direct_method,
    doubly_robust,
    effective_sample_size,
    evaluate,
    ips,
    snips,
)
from .learning import fit_dm_policy, fit_ipw_policy, online_value, true_value
from .logged import LoggedFeedback, sample_actions
from .replay import replay, replay_learning
from .reward_models import PerArmRegression, cross_fit_folds, fit_reward_model
from .sources import collect_log
from .study import LogBatch, simulate_logs, summarize_estimates
from .supervised import classifier_policy, label_value, load_classification, supervised_to_bandit
from .targets import (
    GreedyPolicy,
    UniformPolicy,
    action_probabilities,
    credit_card_segments,
    epsilon_greedy_probabilities,
    greedy_probabilities,
    segment_policy,
)

__all__ = [
    "LoggedFeedback",
    "collect_log",
    "sample_actions",
    "action_probabilities",
    "UniformPolicy",
    "GreedyPolicy",
    "segment_policy",
    "greedy_probabilities",
    "epsilon_greedy_probabilities",
    "credit_card_segments",
    "Estimate",
    "replay",
    "replay_learning",
    "ips",
    "snips",
    "direct_method",
    "doubly_robust",
    "evaluate",
    "PerArmRegression",
    "fit_reward_model",
    "cross_fit_folds",
    "effective_sample_size",
    "fit_ipw_policy",
    "fit_dm_policy",
    "true_value",
    "online_value",
    "simulate_logs",
    "LogBatch",
    "summarize_estimates",
    "load_classification",
    "supervised_to_bandit",
    "classifier_policy",
    "label_value",
    "thompson_propensities",
    "gaussian_max_propensities",
    "epsilon_greedy_propensities",
    "softmax_propensities",
    "monte_carlo_propensities",
]
