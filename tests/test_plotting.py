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


def test_plot_beta_legend_writes_counts_in_full():
    # a posterior after thousands of customers: the legend says 2983, not 2.98e+03
    fig, ax = plt.subplots()
    plot_beta([190.0, 2.1, 1.3], [2983.0, 38.9, 1234.56], ax=ax, labels=["a", "b", "c"])
    assert [line.get_label() for line in ax.get_lines()] == [
        "a: Beta(190, 2983)",
        "b: Beta(2.1, 38.9)",
        "c: Beta(1.3, 1234.6)",
    ]
    plt.close(fig)


def test_plot_allocation_and_share_distribution(results):
    fig, (a1, a2) = plt.subplots(1, 2)
    plot_allocation(results["TS"], ax=a1, smooth=10)
    assert len(a1.collections) == 3  # one stacked band per arm
    plot_share_distribution(results, arm=2, ax=a2)
    assert "median" in a2.get_legend().get_texts()[0].get_text()
    plt.close(fig)
