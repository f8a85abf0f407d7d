"""How much must the logging policy explore? Slide its exploration and watch each
off-policy estimator's error.

Taught in notebooks/11_learning_from_logs.ipynb.

The bank's logging policy is a segment rule that, with probability ``epsilon``, shows a
uniformly random offer instead. For every ``epsilon`` on the slider, ``n_logs`` logs of
``n_rounds`` customers are simulated (:func:`bandit_lab.offpolicy.simulate_logs`, the same
customers for every ``epsilon``), and IPS, SNIPS, DM and DR estimate the value of each
candidate policy on every log (DM and DR with a ridge regression per offer, fitted on the
log). The truth is known exactly. The picture shows each estimator's errors over the logs
at the chosen ``epsilon`` and its root mean squared error against ``epsilon``; the table
adds bias, spread, the coverage of the 95% intervals and the effective sample size.

Everything is computed when the widget is built (about 1-2 s for the default eight
values of ``epsilon`` and three candidates), so moving a control only redraws.
"""
from __future__ import annotations

import html
import time

import ipywidgets as W
import numpy as np

from .._rng import resolve_rng
from .._validation import check_int, check_probability
from ..offpolicy import action_probabilities, segment_policy, simulate_logs, summarize_estimates
from ._base import FigureImage, swatch_html, wire
from ._layout import controls_beside_picture, html_table, text_block, tidy_controls

__all__ = ["ope_explorer", "ExplorationStudy", "METHODS"]

#: The estimators, in the order they are drawn and tabled.
METHODS = ("IPS", "SNIPS", "DM", "DR")
#: The reward models DM and DR can use.
REWARD_MODELS = ("ridge per offer", "offer averages")
COLORS = {"IPS": "C0", "SNIPS": "C1", "DM": "C2", "DR": "C3"}


class ExplorationStudy:
    """The computation behind :func:`ope_explorer`: every estimator on ``n_logs`` logs,
    for every logger's ``epsilon`` and every candidate.

    Parameters
    ----------
    env : CreditCardEnv
        Anything with ``contexts`` and ``expected`` for its population.
    candidates : dict of name -> policy or (N, K) array
        The policies to evaluate; an array holds their action probabilities for every
        member of ``env``'s population (pass it when it took time to compute).
    offer_by_segment : sequence of int
        The logger's offer for each segment (see :func:`~bandit_lab.offpolicy.segment_policy`).
    epsilons : sequence of float in (0, 1]
    n_rounds, n_logs : int
    rng : None, int or numpy.random.Generator
        Fixes :attr:`seed`, from which every log is drawn (the same customers for every
        ``epsilon``).
    """

    def __init__(self, env, candidates, *, offer_by_segment=(3, 2, 4, 0),
                 epsilons=(0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.6, 1.0), n_rounds=2000,
                 n_logs=100, rng=0):
        if not candidates:
            raise ValueError("candidates is empty, must name at least one policy to evaluate.")
        self.env = env
        self.epsilons = tuple(check_probability(f"epsilons[{i}]", e, open_low=True)
                              for i, e in enumerate(epsilons))
        if len(set(self.epsilons)) != len(self.epsilons) or not self.epsilons:
            raise ValueError(f"epsilons == {epsilons!r}, must be distinct values in (0, 1].")
        self.offer_by_segment = tuple(int(k) for k in offer_by_segment)
        self.n_rounds = check_int("n_rounds", n_rounds, minimum=10)
        self.n_logs = check_int("n_logs", n_logs, minimum=2)
        self.seed = int(resolve_rng(rng).integers(2**63))
        self.probabilities = {name: action_probabilities(p, env.contexts, n_arms=env.n_arms)
                              for name, p in candidates.items()}
        self.truth = {name: float(np.einsum("nk,nk->n", p, env.expected).mean())
                      for name, p in self.probabilities.items()}
        self.results = {}  # (epsilon, reward model, name) -> estimates dict
        self.logger_values = {}
        for eps in self.epsilons:
            self._compute(eps)

    def logger(self, epsilon):
        return segment_policy(self.offer_by_segment, epsilon=epsilon, n_arms=self.env.n_arms)

    def _compute(self, eps):
        logger = self.logger(eps)
        batch = simulate_logs(self.env, logger, n_rounds=self.n_rounds, n_logs=self.n_logs,
                              rng=self.seed)
        models = {"ridge per offer": batch.reward_models(), "offer averages": batch.mean_models()}
        self.logger_values[eps] = batch.true_value(batch.logging_probabilities)
        for name, pi in self.probabilities.items():
            for model, q in models.items():
                self.results[eps, model, name] = batch.estimates(pi, reward_model=q)

    def errors(self, eps, model, name):
        """Estimate minus truth, per method: arrays over the logs."""
        return {m: self.results[eps, model, name][m]["value"] - self.truth[name]
                for m in METHODS}

    def table(self, eps, model, name):
        """Bias, sd, RMSE, coverage and median ESS per method (a DataFrame)."""
        return summarize_estimates(self.results[eps, model, name], self.truth[name])

    def rmse_curve(self, model, name):
        """Root mean squared error of every method against ``epsilon``: dict of arrays."""
        out = {}
        for m in METHODS:
            vals = []
            for eps in self.epsilons:
                err = self.results[eps, model, name][m]["value"] - self.truth[name]
                err = err[np.isfinite(err)]
                vals.append(np.sqrt(np.mean(err ** 2)) if err.size else np.nan)
            out[m] = np.array(vals)
        return out


class _Picture:
    """Left: each estimator's errors over the logs (dots) with their mean and the spread
    (bars); right: root mean squared error against the logger's epsilon. Drawn once, then
    moved."""

    def __init__(self, fig_image, study):
        self.fig_image = fig_image
        fig = fig_image.figure
        fig.set_layout_engine("none")
        self.left = fig.add_axes((0.12, 0.15, 0.36, 0.72))
        self.right = fig.add_axes((0.59, 0.15, 0.39, 0.72))
        rng = np.random.default_rng(0)
        self.jitter = rng.uniform(-0.22, 0.22, size=study.n_logs)
        self.dots, self.means, self.bars = {}, {}, {}
        for i, m in enumerate(METHODS):
            self.dots[m] = self.left.scatter(np.full(study.n_logs, i) + self.jitter,
                                             np.zeros(study.n_logs), s=6, alpha=0.35,
                                             color=COLORS[m], linewidths=0)
            self.bars[m], = self.left.plot([i, i], [0, 0], color="k", linewidth=2.5)
            self.means[m], = self.left.plot([i], [0], marker="_", markersize=22, color="k",
                                            markeredgewidth=2.5)
        self.left.axhline(0, color="0.4", linewidth=1, linestyle="--")
        self.left.set_xticks(range(len(METHODS)), METHODS)
        self.left.set_xlim(-0.6, len(METHODS) - 0.4)
        self.left.set_ylabel("estimate minus true value")
        self.left_title = self.left.set_title("", fontsize="medium")
        eps = np.array(study.epsilons)
        self.curves = {m: self.right.plot(eps, np.zeros_like(eps), marker="o", markersize=4,
                                          color=COLORS[m])[0] for m in METHODS}
        self.marker = self.right.axvline(eps[0], color="0.4", linestyle=":", linewidth=1.5)
        self.right.set_xscale("log")
        self.right.set_xlabel("logger's exploration epsilon (log scale)")
        self.right.set_ylabel("root mean squared error")
        self.right.set_title("Error of each estimator (table: colours)", fontsize="medium")

    def draw(self, study, eps, model, name):
        errors = study.errors(eps, model, name)
        lo, hi = np.inf, -np.inf
        for i, m in enumerate(METHODS):
            e = errors[m]
            ok = np.isfinite(e)
            self.dots[m].set_offsets(np.column_stack([i + self.jitter[ok], e[ok]]))
            mean, sd = (float(e[ok].mean()), float(e[ok].std(ddof=1))) if ok.sum() > 1 else (np.nan, np.nan)
            self.means[m].set_data([i], [mean])
            self.bars[m].set_data([i, i], [mean - sd, mean + sd])
            if ok.any():
                lo, hi = min(lo, np.percentile(e[ok], 1)), max(hi, np.percentile(e[ok], 99))
        span = max(hi - lo, 1e-3)
        self.left.set_ylim(lo - 0.08 * span, hi + 0.08 * span)
        self.left_title.set_text(f"{name}, logger epsilon = {eps:g}: {study.n_logs} logs "
                                 f"(bar: mean ± sd)")
        curves = study.rmse_curve(model, name)
        top = 0.0
        for m in METHODS:
            self.curves[m].set_ydata(curves[m])
            top = max(top, np.nanmax(curves[m]))
        self.right.set_ylim(0, 1.08 * top if top > 0 else 1.0)
        self.marker.set_xdata([eps, eps])
        self.fig_image.render()


def _summary_html(table, study, eps, model, name):
    head = (f"<b>{html.escape(name)}</b>: true value {study.truth[name]:.4f} (the logger's "
            f"own: {study.logger_values[eps]:.4f}). Logger: the segment rule with a random "
            f"offer {eps:.0%} of the time; {study.n_logs} logs of {study.n_rounds:,} "
            f"customers; DM and DR use the {model}.")
    header = ("estimator", "bias", "sd", "RMSE", "95% interval covers the truth",
              "median effective sample size")
    rows = []
    for m in METHODS:
        r = table.loc[m]
        rows.append((swatch_html(COLORS[m]) + html.escape(m), f"{r['bias']:+.4f}",
                     f"{r['sd']:.4f}", f"{r['rmse']:.4f}", f"{r['coverage']:.0%}",
                     f"{r['median_ess']:,.0f}"))
    note = ("DM's interval counts only the sampling of customers, never its model's bias; "
            "the others' assume enough effective samples for a normal approximation.")
    # a table that scrolls sideways on a narrow page instead of widening the widget
    return text_block(head) + html_table(header, rows, note=text_block(note))


def ope_explorer(env, candidates, *, epsilon=0.1,
                 epsilons=(0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.6, 1.0),
                 offer_by_segment=(3, 2, 4, 0), n_rounds=2000, n_logs=100, rng=0,
                 figsize=(7.6, 3.3), dpi=96):
    """A widget: the logging policy's exploration against each off-policy estimator's error.

    A slider sets the logger's ``epsilon`` (the share of customers shown a random offer),
    a menu the candidate policy evaluated, a menu the reward model of DM and DR (a ridge
    regression per offer, or each offer's average logged reward); the picture and table show how IPS, SNIPS, DM
    and DR err over ``n_logs`` simulated logs. Everything is computed when the widget is
    built (:class:`ExplorationStudy`); a control change only redraws. Taught in
    notebooks/11_learning_from_logs.ipynb.

    Parameters
    ----------
    env : CreditCardEnv
    candidates : dict of name -> policy or (N, K) array of its action probabilities for
        every member of ``env``'s population
    epsilon : float
        Starting exploration, one of ``epsilons``.
    epsilons, offer_by_segment, n_rounds, n_logs, rng
        As for :class:`ExplorationStudy`.

    Returns
    -------
    ipywidgets.VBox
        With ``controls`` (``"epsilon"``, ``"policy"``, ``"model"``), ``summary``, ``figure``, ``state``
        (the :class:`ExplorationStudy`), ``table`` (the numbers shown) and ``timings``.

    Examples
    --------
    >>> from bandit_lab import CreditCardEnv
    >>> from bandit_lab.offpolicy import segment_policy
    >>> env = CreditCardEnv(n_customers=2_000, n_history=500, rng=0)
    >>> w = ope_explorer(env, {"travel rule": segment_policy([3, 2, 1, 0])},
    ...                  epsilons=(0.02, 0.5), epsilon=0.5, n_rounds=500, n_logs=20)
    >>> w.controls["epsilon"].value = 0.02          # rarely explores: IPS varies far more
    >>> bool(w.table.loc["IPS", "sd"] > w.state.table(0.5, "ridge per offer",
    ...                                              "travel rule").loc["IPS", "sd"])
    True
    """
    study = ExplorationStudy(env, candidates, offer_by_segment=offer_by_segment,
                             epsilons=epsilons, n_rounds=n_rounds, n_logs=n_logs, rng=rng)
    epsilon = check_probability("epsilon", epsilon, open_low=True)
    if epsilon not in study.epsilons:
        raise ValueError(f"epsilon == {epsilon!r}, must be one of {study.epsilons}.")
    names = list(study.probabilities)
    controls = {
        "epsilon": W.SelectionSlider(options=[(f"{e:g}", e) for e in study.epsilons],
                                     value=epsilon, description="logger ε",
                                     continuous_update=False),
        "policy": W.Dropdown(options=names, value=names[0], description="evaluate"),
        "model": W.Dropdown(options=REWARD_MODELS, value=REWARD_MODELS[0],
                            description="DM, DR use"),
    }
    tidy_controls(controls.values(), track="120px")
    fig = FigureImage(figsize=figsize, dpi=dpi)
    picture = _Picture(fig, study)
    summary = W.HTML()
    box = W.VBox()

    def redraw(_change=None):
        start = time.perf_counter()
        eps, name, model = (controls[k].value for k in ("epsilon", "policy", "model"))
        box.table = study.table(eps, model, name)
        picture.draw(study, eps, model, name)
        summary.value = _summary_html(box.table, study, eps, model, name)
        box.timings.append(time.perf_counter() - start)

    children = controls_beside_picture(list(controls.values()), fig.image, [summary])
    return wire(box, controls, redraw, children, summary=summary, figure=fig, state=study)
