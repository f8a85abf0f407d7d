"""Plot helpers draw what they say, on the axes given, without pyplot.show()."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bandit_lab import (
    UCB1,
    BernoulliBandit,
    BetaBernoulliTS,
    BetaPosterior,
    cumulative_regret,
    simulate,
)
from bandit_lab.plotting import plot_allocation, plot_beta, plot_regret, plot_share_distribution


@pytest.fixture(scope="module")
def results():
    env = BernoulliBandit([0.1, 0.3, 0.5])
    return simulate({"TS": BetaBernoulliTS(3), "UCB1": UCB1(3)}, env, n_steps=200, n_runs=30, rng=0)


def test_plot_regret_draws_means_bands_and_the_bound(results):
    fig, ax = plt.subplots()
    out = plot_regret(results, ax=ax)
    assert out is ax
    lines = ax.get_lines()
    assert len(lines) == 3  # two policies + Lai-Robbins
    np.testing.assert_allclose(lines[0].get_ydata(), cumulative_regret(results["TS"]).mean(axis=0))
    assert len(ax.collections) == 2  # one band per policy
    assert "Lai-Robbins" in lines[2].get_label()
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    plt.close(fig)


def test_plot_beta_shades_the_interval_and_labels_each_arm():
    fig, ax = plt.subplots()
    post = BetaPosterior([2.0, 8.0], [8.0, 2.0])
    plot_beta(post, ax=ax, labels=["low", "high"])
    assert [line.get_label().split(":")[0] for line in ax.get_lines()] == ["low", "high"]
    peak = ax.get_lines()[1].get_xdata()[np.argmax(ax.get_lines()[1].get_ydata())]
    assert abs(peak - 7 / 8) < 0.01  # the mode of Beta(8, 2)
    assert len(ax.collections) == 2
    plt.close(fig)


def test_plot_allocation_and_share_distribution(results):
    fig, (a1, a2) = plt.subplots(1, 2)
    plot_allocation(results["TS"], ax=a1, smooth=10)
    assert len(a1.collections) == 3  # one stacked band per arm
    plot_share_distribution(results, arm=2, ax=a2)
    assert "median" in a2.get_legend().get_texts()[0].get_text()
    plt.close(fig)
