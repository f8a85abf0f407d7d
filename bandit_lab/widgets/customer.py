"""Describe a customer with sliders; see what a trained contextual bandit believes and offers.

Taught in notebooks/06_credit_card_personalisation.ipynb.

:func:`customer_explorer` returns a :class:`CustomerExplorer`, an ``ipywidgets.VBox`` whose
pieces a test can reach: ``controls`` (one control per customer attribute and an archetype
picker), ``summary`` (an ``ipywidgets.HTML`` table), ``figure_image`` and the numbers behind
both (:meth:`CustomerExplorer.numbers`). The customer's raw record goes through the
environment's *fitted* feature pipeline, exactly as at decision time.

Every control changes something the model sees. The pipeline reads the revolving balance
and the credit limit only through their ratio, so the widget has one control for that
ratio ("balance / credit limit"); the limit itself stays the archetype's.
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np

from .._rng import resolve_rng
from .._validation import check_int, check_probability
from ..contextual import ContextualPolicy
from ..credit_card import ARCHETYPES, OFFER_NAMES, true_conversion
from ._base import FigureImage, swatch_html
from ._layout import controls_beside_picture, html_table, text_block, tidy_controls

__all__ = ["customer_explorer", "CustomerExplorer"]


def _sliders():
    common = dict(continuous_update=False)
    return {
        "age": W.IntSlider(min=18, max=85, description="age", **common),
        "income_k": W.IntSlider(min=15, max=600, step=5, description="income (k$ / year)", **common),
        "credit_score": W.IntSlider(min=300, max=850, step=5, description="credit score", **common),
        "revolving_share": W.FloatSlider(min=0, max=1, step=0.005, readout_format=".3f",
                                         description="balance / credit limit", **common),
        "travel_spend_pct": W.FloatSlider(min=0, max=0.9, step=0.01, description="travel share of spend", **common),
        "grocery_spend_pct": W.FloatSlider(min=0, max=0.9, step=0.01, description="grocery share of spend", **common),
        "months_as_customer": W.IntSlider(min=0, max=240, description="months as customer", **common),
        "recent_app_count": W.IntSlider(min=0, max=6, description="applications (6 months)", **common),
        "has_mortgage": W.Checkbox(description="has a mortgage", indent=False),
        "has_business": W.Checkbox(description="has a business", indent=False),
    }


class CustomerExplorer(W.VBox):
    """The widget :func:`customer_explorer` builds; see there for the parameters.

    Attributes
    ----------
    controls : dict of str -> ipywidgets widget
        One per attribute the model sees (``"age"``, ``"income_k"``, ``"credit_score"``,
        ``"revolving_share"`` (balance / credit limit), ``"travel_spend_pct"``,
        ``"grocery_spend_pct"``, ``"months_as_customer"``, ``"recent_app_count"``,
        ``"has_mortgage"``, ``"has_business"``) and ``"archetype"`` (a dropdown that sets
        them all to one of the four archetypes).
    summary : ipywidgets.HTML
    figure_image : FigureImage
    policy, env
        The trained policy (not modified) and the environment whose pipeline is used.
    """

    def __init__(self, policy, env, *, archetype, level, n_draws, rng, figsize, dpi):
        self.policy, self.env = policy, env
        self.level, self.n_draws = level, n_draws
        self._rng = resolve_rng(rng)
        self.controls = _sliders()
        self.controls["archetype"] = W.Dropdown(options=list(ARCHETYPES), value=archetype,
                                                description="start from")
        self.credit_limit = float(ARCHETYPES[archetype]["credit_limit"])
        self.summary = W.HTML()
        self.figure_image = FigureImage(figsize=figsize, dpi=dpi)
        self._holding = False
        self._setup_axes()
        self.load_archetype(archetype, redraw=False)
        for name, ctl in self.controls.items():
            ctl.observe(self._on_archetype if name == "archetype" else self._on_change, names="value")
        c = self.controls
        order = ["archetype", "age", "income_k", "credit_score", "revolving_share",
                 "travel_spend_pct", "grocery_spend_pct", "months_as_customer",
                 "recent_app_count"]
        tidy_controls([*(c[k] for k in order), c["has_mortgage"], c["has_business"]],
                      track="110px")
        flags = W.HBox([c["has_mortgage"], c["has_business"]],
                       layout=W.Layout(flex_flow="row wrap"))
        super().__init__(children=controls_beside_picture(
            [*(c[k] for k in order), flags], self.figure_image.image, [self.summary]))
        self.redraw()

    # -- the customer -------------------------------------------------------------------
    def customer(self):
        """The customer the controls describe, as a raw record (a dict of CRM columns)."""
        c = {k: ctl.value for k, ctl in self.controls.items()}
        limit = self.credit_limit
        return {
            "age": c["age"], "annual_income": 1000.0 * c["income_k"], "credit_score": c["credit_score"],
            "revolving_balance": round(c["revolving_share"] * limit, 2), "credit_limit": limit,
            "travel_spend_pct": c["travel_spend_pct"], "grocery_spend_pct": c["grocery_spend_pct"],
            "months_as_customer": c["months_as_customer"], "has_mortgage": int(c["has_mortgage"]),
            "has_business": int(c["has_business"]), "recent_app_count": c["recent_app_count"],
        }

    def load_archetype(self, name, *, redraw=True):
        """Set every control to the archetype ``name`` (one of the four)."""
        if name not in ARCHETYPES:
            raise ValueError(f"name == {name!r}, must be one of {list(ARCHETYPES)}.")
        a = ARCHETYPES[name]
        self.credit_limit = float(a["credit_limit"])
        values = {"age": a["age"], "income_k": int(round(a["annual_income"] / 1000)),
                  "credit_score": a["credit_score"],
                  "revolving_share": round(a["revolving_balance"] / a["credit_limit"], 3),
                  "travel_spend_pct": a["travel_spend_pct"], "grocery_spend_pct": a["grocery_spend_pct"],
                  "months_as_customer": a["months_as_customer"], "recent_app_count": a["recent_app_count"],
                  "has_mortgage": bool(a["has_mortgage"]), "has_business": bool(a["has_business"])}
        self._holding = True  # one redraw for all the controls, not ten
        try:
            for key, value in values.items():
                self.controls[key].value = value
        finally:
            self._holding = False
        if redraw:
            self.redraw()

    def numbers(self):
        """What the widget shows: the customer's features, and per offer the belief's mean,
        interval, how often Thompson sampling would choose it, and the hidden truth."""
        record = self.customer()
        x = self.env.context_of(record)[0]
        mean = self.policy.expected_reward(x)
        low, high = self.policy.reward_interval(x, self.level)
        probs = self.policy.choice_probabilities(x, n_draws=self.n_draws, rng=self._rng)
        return {"x": x, "mean": mean, "low": low, "high": high, "choice": probs,
                "truth": true_conversion(record)[0], "one_draw": self.policy.scores(
                    self.policy._state(), x, self._rng).argmax()}

    def _on_change(self, change):
        if not self._holding:
            self.redraw()

    def _on_archetype(self, change):
        self.load_archetype(change["new"])

    # -- drawing ------------------------------------------------------------------------
    def _setup_axes(self):
        # The artists are made once and only their data change: a redraw stays cheap. No
        # legend in the figure (it costs a redraw ~8 ms): the key under it names the marks.
        fig = self.figure_image.figure
        fig.set_layout_engine("none")
        ax = self._ax = fig.add_axes((0.33, 0.15, 0.64, 0.76))
        k = len(OFFER_NAMES)
        self._y = y = np.arange(k)[::-1].astype(float)
        ax.set_yticks(y, OFFER_NAMES, fontsize="small")
        ax.set_ylim(-0.6, k - 0.4)
        ax.set_xlabel("conversion probability")
        self._intervals = ax.hlines(y, 0.0, 0.0, color="C0", linewidth=2.5)
        self._means, = ax.plot(np.zeros(k), y, "o", color="C0", markersize=6)
        # A mean below 0 (a linear model can believe that) is marked at 0 by a triangle
        # pointing off the axis: a probability axis has nothing left of 0.
        self._below, = ax.plot([], [], "<", color="C0", markersize=8, clip_on=False)
        self._truth, = ax.plot(np.zeros(k), y, "x", color="k", markersize=8, markeredgewidth=2)
        self._pick, = ax.plot([0.0], [0.0], "o", markersize=15, markerfacecolor="none",
                              markeredgecolor="C3", markeredgewidth=2)
        ax.set_title("What the bandit believes about this customer", fontsize="medium")

    def redraw(self):
        """Recompute the numbers for the customer the controls describe and redraw."""
        nums = self.numbers()
        ax, y = self._ax, self._y
        self._intervals.set_segments([[(lo, yy), (hi, yy)] for lo, hi, yy in zip(nums["low"], nums["high"], y)])
        self._means.set_xdata(nums["mean"])
        below = nums["mean"] < 0
        self._below.set_data(np.zeros(int(below.sum())), y[below])
        self._truth.set_xdata(nums["truth"])
        best = int(np.argmax(nums["choice"]))
        self._pick.set_data([max(nums["mean"][best], 0.0)], [y[best]])
        # A probability axis: from 0, to 0.3 unless the belief or the truth goes further
        # (fixed otherwise: re-labelling the axis costs time).
        high = min(1.0, max(0.3, float(np.max(nums["high"])) + 0.01,
                            float(np.max(nums["truth"])) + 0.02))
        if (0.0, high) != ax.get_xlim():
            ax.set_xlim(0.0, high)
        level = f"{self.level:.0%}"
        rows = [(name, f"{nums['mean'][k]:.3f}", f"[{nums['low'][k]:.3f}, {nums['high'][k]:.3f}]",
                 f"{nums['choice'][k]:.0%}", f"{nums['truth'][k]:.3f}")
                for k, name in enumerate(OFFER_NAMES)]
        table = html_table(("offer", "belief: mean", f"{level} interval", "chosen in",
                            "true rate"), rows, bold=best)
        key = (f"{swatch_html('C0')}the bandit's belief (dot: mean, line: {level} interval) "
               "&nbsp; <b>&#x2715;</b> the true rate (hidden from the bandit) &nbsp; "
               "<span style='color:#d62728'>&#x25EF;</span> Thompson sampling's usual pick")
        if below.any():
            key += (" &nbsp; &#x25C0; at 0: the mean is below 0 (the linear model's belief, "
                    "not a possible rate)")
        self.summary.value = text_block(
            f"Thompson sampling offers <b>{OFFER_NAMES[best]}</b> to this customer in "
            f"{nums['choice'][best]:.0%} of its decisions (one draw now: {OFFER_NAMES[nums['one_draw']]}); "
            f"the truly best offer is <b>{OFFER_NAMES[int(np.argmax(nums['truth']))]}</b>."
            f"<div style='font-size:smaller'>{key}</div>" + table)
        self.figure_image.render()


def customer_explorer(policy, env, *, archetype="grocery_shopper", level=0.95, n_draws=2000,
                      rng=0, figsize=(5.5, 3.1), dpi=96):
    """Sliders that describe a customer; the trained ``policy``'s belief about each offer.

    Parameters
    ----------
    policy : LinearTS or LogisticTS (any ContextualPolicy with ``expected_reward`` and
        ``reward_interval``), trained on ``env``'s features. Not modified.
    env : CreditCardEnv
        Its fitted pipeline turns the customer into features.
    archetype : str
        The customer the sliders start at (a key of ``ARCHETYPES``).
    level : float in (0, 1)
        Probability held by the interval around each offer's belief.
    n_draws : int >= 1
        Thompson decisions simulated to estimate how often each offer is chosen.
    rng : None, int or numpy.random.Generator
        For those simulated decisions.

    Returns
    -------
    CustomerExplorer

    Examples
    --------
    >>> from bandit_lab import CreditCardEnv, LinearTS
    >>> env = CreditCardEnv(n_customers=500, n_history=500, rng=0)
    >>> w = customer_explorer(LinearTS(5, 11), env)
    >>> w.controls["has_business"].value = True
    >>> "business_expense_card</b>." in w.summary.value     # the truth for a business owner
    True
    """
    if not isinstance(policy, ContextualPolicy) or not hasattr(policy, "reward_interval"):
        raise TypeError(f"policy is of type {type(policy).__name__}, must be a LinearTS or LogisticTS.")
    if policy.n_features != getattr(env, "n_features", None) or not hasattr(env, "context_of"):
        raise ValueError("env must be the CreditCardEnv whose features the policy learned from "
                         f"(policy.n_features == {policy.n_features}).")
    if archetype not in ARCHETYPES:
        raise ValueError(f"archetype == {archetype!r}, must be one of {list(ARCHETYPES)}.")
    level = check_probability("level", level, open_low=True, open_high=True)
    n_draws = check_int("n_draws", n_draws, minimum=1)
    return CustomerExplorer(policy, env, archetype=archetype, level=level, n_draws=n_draws, rng=rng,
                            figsize=figsize, dpi=dpi)
