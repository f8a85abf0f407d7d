"""Bandit Lab: Thompson sampling and its rivals, small enough to read beside the course.

Policies (notebooks 03-04) -- select an arm, update it with a reward in [0, 1]
    BetaBernoulliTS   Thompson sampling with a Beta prior per arm
    EpsilonGreedy     each arm once, then greedy with probability 1 - epsilon
    UCB1              empirical mean plus a confidence bonus
    Softmax           Boltzmann exploration with temperature tau
    KLUCB             the Kullback-Leibler upper confidence bound
    SlidingWindowTS   Thompson sampling on the last `window` observations (notebook 07)
    DiscountedTS      Thompson sampling whose evidence fades by `gamma` (notebook 07)
    Policy            the base class; Policy.from_state rebuilds any policy from JSON

Beliefs (notebook 02)
    BetaPosterior     mean, credible interval, density and samples of Beta beliefs

Problems and experiments (notebooks 01, 04)
    BernoulliBandit   arms paying 1 with known probabilities
    ScheduledBernoulliBandit  rates that jump at change points or drift (notebook 07)
    SOURCE_RATES      the five offers' conversion rates used in the course
    OFFER_NAMES       the five credit-card offers
    simulate          many runs of many policies, vectorised, on the same outcomes;
                      delayed and batched feedback are options of it
    geometric_delay   random reward delays for simulate (notebook 07)
    run_policy        one run of one policy object, step by step (the textbook loop)
    explore_then_commit  a fixed A/B test, then the observed winner for everyone (notebook 01)
    History           what every simulator returns for one policy: one protocol, one set of
                      shapes (bandit_lab.history documents them)
    Environment, Step the protocol every environment follows: step(t, n_runs, rng) -> Step

Metrics (notebooks 01, 04)
    cumulative_regret     pseudo-regret from expected rewards, per run and step
    arm_shares            share of pulls per arm in each run
    lai_robbins_constant  the constant in the log(T) lower bound on regret
    bernoulli_kl          KL divergence between Bernoulli distributions
    summarize, paired_gain, learning_curve   means over runs with intervals (notebook 06)

Context (notebooks 05-06) -- select(x) an arm for context x, update(x, arm, reward)
    LinearTS               Thompson sampling on an exact Bayesian linear regression per arm
    LinUCB                 ridge regression per arm plus alpha standard deviations
    LogisticTS             Thompson sampling on a logistic model per arm (Laplace approximation)
    NIGLinearTS            linear Thompson sampling that learns its noise variance
                           (Normal-Inverse-Gamma, Student-t draws; notebook 06)
    ContextualPolicy       their base class; ContextualPolicy.from_state rebuilds one from JSON
    GaussianLinearPosterior  the closed-form belief about a linear model's weights
    CreditCardEnv          the bank's customers, feature pipeline and hidden conversion truth
    draw_customers         a population of customers around the four archetypes
    simulate_contextual    many runs of many policies on the same customers and outcomes
    run_contextual         one run of one contextual policy object (the textbook loop)
    ContextualHistory      what a contextual simulation returns for one policy
    PerSegment, UniformRandom, Oracle   baselines for simulate_contextual

Bayesian A/B testing (notebook 08) -- ``bandit_lab.ab_testing``
    prob_b_beats_a         exact P(B > A) for Beta posteriors
    expected_loss          expected loss of shipping each variant
    prob_being_best        P(each variant is best), by integration or Monte Carlo
    lift_interval          credible interval of the (relative or absolute) lift
    sequential_ab_test     simulated experiments that peek and stop by a rule
    two_proportion_ztest, ztest_sample_size, ztest_power, peeking_rejection_rates
                           the classical test, its sample size, and what peeking does to it

Production concerns (notebook 09)
    MultiObjectiveTS       click, purchase given click and revenue per purchase, each with its
                           own posterior; the score is a draw of the weighted value of an impression
    BudgetedTS             sampled rate per unit cost among affordable arms; tracks spend
    BudgetExhausted        raised by BudgetedTS.select() once nothing is affordable (a clean end)
    PosteriorStoppingRule  stop on P(best) > level or expected loss < threshold
    beta_prior             (alpha0, beta0) from a rate and how many observations it is worth
    PerArmPriorTS          Beta-Bernoulli TS with a prior of its own per arm
    add_arm                a running bandit plus one new arm with its own prior (cold start)
    FunnelEnv, simulate_funnel, FunnelHistory, simulate_budget, BudgetHistory,
    stopping_times, with_segments
                           simulations for the above (``bandit_lab.production``)

Learning from logs (notebook 11) -- ``bandit_lab.offpolicy``
    LoggedFeedback         a validated log: contexts, actions, rewards, the logger's propensities
    collect_log            run a fixed logging policy on an environment, recording propensities
    action_probabilities   a policy's choice probabilities per context (exact for LinearTS)
    replay, ips, snips, direct_method, doubly_robust
                           off-policy estimates of a policy's value, with intervals and ESS
    evaluate               several estimates of one policy at once, as a table
    fit_ipw_policy, fit_dm_policy   learn a policy from a log

Every simulator takes ``executor=`` (where blocks of runs are simulated: this process by
default, local processes, a concurrent.futures pool or a dask.distributed cluster, with the
same result) and ``record_propensities=``. Pure maths (``bandit_lab.scores``): one score
function per policy, shared by the objects and the simulator. Plots in
``bandit_lab.plotting``, widgets in ``bandit_lab.widgets``; the package's layout in the
README.
"""
from .environments import (
    OFFER_NAMES,
    SOURCE_RATES,
    BernoulliBandit,
    Environment,
    ScheduledBernoulliBandit,
    Step,
)
from .explore_exploit import explore_then_commit
from .metrics import (
    arm_shares,
    bernoulli_kl,
    cumulative_regret,
    lai_robbins_constant,
    learning_curve,
    paired_gain,
    summarize,
)
from .nonstationary import DiscountedTS, SlidingWindowTS
from .policies import KLUCB, UCB1, BetaBernoulliTS, EpsilonGreedy, Policy, Softmax
from .posteriors import BetaPosterior
from .simulate import History, geometric_delay, run_policy, simulate

# The context, A/B-testing and production names pull in pandas, scikit-learn and
# scipy.stats; they are imported on first use (PEP 562), so `import bandit_lab` stays quick
# for a kernel, a test worker or the service.
_LAZY = {
    # -- context (notebooks 05-06) --
    **dict.fromkeys(("ContextualPolicy", "LinearTS", "LinUCB", "LogisticTS"),
                    "contextual.policies"),
    "GaussianLinearPosterior": "contextual.posterior",
    "NIGLinearTS": "contextual.nig",
    **dict.fromkeys(("ContextualHistory", "run_contextual", "simulate_contextual"),
                    "contextual.simulate"),
    **dict.fromkeys(("Oracle", "PerSegment", "UniformRandom"), "contextual.baselines"),
    **dict.fromkeys(("CreditCardEnv", "with_segments"), "contextual.credit_card"),
    "draw_customers": "contextual.customers",
    # -- Bayesian A/B testing (notebook 08) --
    **dict.fromkeys(("expected_loss", "lift_interval", "prob_b_beats_a", "prob_being_best"),
                    "ab_testing.bayes"),
    **dict.fromkeys(("peeking_rejection_rates", "sequential_ab_test"), "ab_testing.sequential"),
    **dict.fromkeys(("two_proportion_ztest", "ztest_power", "ztest_sample_size"),
                    "ab_testing.classical"),
    **dict.fromkeys(("PosteriorStoppingRule", "stopping_times"), "ab_testing.stopping"),
    # -- production (notebook 09) --
    "MultiObjectiveTS": "production.objectives",
    **dict.fromkeys(("BudgetedTS", "BudgetExhausted", "simulate_budget"), "production.budget"),
    **dict.fromkeys(("PerArmPriorTS", "add_arm", "beta_prior"), "production.cold_start"),
    **dict.fromkeys(("FunnelEnv", "FunnelHistory", "simulate_funnel"), "production.funnel"),
    "BudgetHistory": "production.budget",
    # -- learning from logs (notebook 11) --
    **dict.fromkeys(("LoggedFeedback", "collect_log", "action_probabilities", "replay", "ips",
                     "snips", "direct_method", "doubly_robust", "evaluate", "fit_ipw_policy",
                     "fit_dm_policy"), "offpolicy"),
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bandit_lab' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "BetaBernoulliTS", "EpsilonGreedy", "UCB1", "Softmax", "KLUCB", "Policy",
    "SlidingWindowTS", "DiscountedTS",
    "BetaPosterior",
    "BernoulliBandit", "ScheduledBernoulliBandit", "Environment", "Step", "SOURCE_RATES",
    "OFFER_NAMES",
    "simulate", "run_policy", "History", "geometric_delay", "explore_then_commit",
    "cumulative_regret", "arm_shares", "lai_robbins_constant", "bernoulli_kl",
    "summarize", "paired_gain", "learning_curve",
    # -- context (notebooks 05-06) --
    "LinearTS", "LinUCB", "LogisticTS", "ContextualPolicy", "GaussianLinearPosterior",
    "NIGLinearTS",
    "CreditCardEnv", "draw_customers",
    "simulate_contextual", "run_contextual", "ContextualHistory", "PerSegment", "UniformRandom",
    "Oracle",
    # -- Bayesian A/B testing (notebook 08) --
    "prob_b_beats_a", "expected_loss", "prob_being_best", "lift_interval", "sequential_ab_test",
    "two_proportion_ztest", "ztest_sample_size", "ztest_power", "peeking_rejection_rates",
    # -- production (notebook 09) --
    "MultiObjectiveTS", "BudgetedTS", "BudgetExhausted", "PosteriorStoppingRule", "beta_prior",
    "PerArmPriorTS", "add_arm", "FunnelEnv", "simulate_funnel", "FunnelHistory",
    "simulate_budget", "BudgetHistory", "stopping_times", "with_segments",
    # -- learning from logs (notebook 11) --
    "LoggedFeedback", "collect_log", "action_probabilities", "replay", "ips", "snips",
    "direct_method", "doubly_robust", "evaluate", "fit_ipw_policy", "fit_dm_policy",
]
