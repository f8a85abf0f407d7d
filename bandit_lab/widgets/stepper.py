"""Step a Thompson-sampling bandit round by round and watch it decide.

Taught in notebooks/03_thompson_sampling.ipynb.

Each round does the four steps of the algorithm in the open: draw one sample from every
arm's Beta posterior, choose the arm with the highest sample, pull it, update that arm's
posterior. The figure shows every posterior density with a marker at the sample drawn this
round (a star on the arm chosen); the text gives the round, the arm, the reward and the
counts per arm.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from .._rng import resolve_rng
from .._validation import check_int, check_positive
from ..environments import SOURCE_RATES, BernoulliBandit
from ..policies import BetaBernoulliTS
from ..posteriors import BetaPosterior
from ..scores import argmax_random, thompson_scores
from ._base import FigureImage, swatch_html
from ._layout import html_table, text_block, tidy_controls

__all__ = ["ts_stepper", "TSStepper"]


class TSStepper:
    """The state behind :func:`ts_stepper`: a bandit, a Thompson-sampling policy, and what
    happened so far.

    Parameters
    ----------
    rates : sequence of float in [0, 1]
        True success rate of each arm (hidden from the policy, shown on the figure when
        ``show_truth``).
    alpha0, beta0 : float > 0
        The Beta prior of every arm.
    rng : None, int or numpy.random.Generator
        Root of the random streams; :meth:`reset` starts a new experiment from fresh
        streams spawned from it, so the same ``rng`` replays the same experiments.

    Attributes
    ----------
    policy : BetaBernoulliTS
        Holds the posterior (``policy.alpha_``, ``policy.beta_``).
    env : BernoulliBandit
        Draws the rewards.
    arms, rewards : list
        Every arm chosen and reward received, in order.
    samples : ndarray of shape (n_arms,) or None
        The posterior samples drawn in the last round (None before the first round).
    sampled_from : BetaPosterior or None
        The posteriors those samples were drawn from (before the last round's update).

    Examples
    --------
    >>> s = TSStepper([0.2, 0.8], rng=0).step(10)
    >>> s.round, int(s.counts.sum())
    (10, 10)
    """

    def __init__(self, rates=SOURCE_RATES, *, alpha0=1.0, beta0=1.0, rng=None):
        self.rates = BernoulliBandit(rates).rates  # validates the rates
        self.alpha0 = check_positive("alpha0", alpha0)
        self.beta0 = check_positive("beta0", beta0)
        self._root = resolve_rng(rng)
        self.reset()

    @property
    def n_arms(self):
        return self.rates.size

    @property
    def round(self):
        """Rounds played since the last reset."""
        return len(self.arms)

    @property
    def counts(self):
        """Pulls of each arm so far."""
        return np.bincount(np.asarray(self.arms, dtype=np.intp), minlength=self.n_arms)

    @property
    def successes(self):
        """Sum of the rewards received from each arm so far."""
        return np.bincount(np.asarray(self.arms, dtype=np.intp),
                           weights=np.asarray(self.rewards, dtype=float), minlength=self.n_arms)

    def reset(self):
        """Back to the prior, with fresh random streams for a new experiment; return self."""
        policy_rng, env_rng = self._root.spawn(2)
        self._rng = policy_rng
        self.policy = BetaBernoulliTS(self.n_arms, alpha0=self.alpha0, beta0=self.beta0,
                                      rng=policy_rng)
        self.env = BernoulliBandit(self.rates, rng=env_rng)
        self.arms, self.rewards = [], []
        self.samples = None
        self.sampled_from = None
        return self

    def step(self, n=1):
        """Play ``n`` rounds of Thompson sampling; return self."""
        n = check_int("n", n, minimum=1)
        for _ in range(n):
            before = (self.policy.alpha_.copy(), self.policy.beta_.copy())
            # 1. one draw from every arm's posterior
            samples = thompson_scores(self.policy.alpha_, self.policy.beta_, self._rng)
            # 2. the arm with the highest draw (ties, practically impossible, at random)
            arm = int(argmax_random(samples, self._rng))
            # 3. observe its reward, 4. update that arm's posterior
            reward = self.env.pull(arm)
            self.policy.update(arm, reward)
            self.arms.append(arm)
            self.rewards.append(reward)
        self.samples = samples
        self.sampled_from = BetaPosterior(*before)
        return self

    def posterior(self):
        """The current belief about every arm (after the last update)."""
        return self.policy.posterior()


def _x_grid(posts, samples, rates):
    hi = max(float(p.interval(0.998)[1].max()) for p in posts)
    if samples is not None:
        hi = max(hi, float(np.max(samples)))
    hi = max(hi, float(np.max(rates)))
    hi = min(1.0, max(0.05, 1.1 * hi))
    return np.linspace(0.0, hi, 300)


def _pdf(post, x):
    """Density of every arm at ``x``, shape ``x.shape + (n_arms,)``, finite at the ends."""
    return post.pdf(np.clip(x, 1e-6, 1 - 1e-6))


def _axes(fig_image):
    """The one Axes of the figure, emptied of the last round's curves; a fixed layout keeps
    redraws fast. The axes themselves stay: ``ax.clear()`` would rebuild every tick and
    lay out the axis labels again, a third of a redraw."""
    fig = fig_image.figure
    if not fig.axes:
        fig.set_layout_engine("none")
        ax = fig.add_axes((0.1, 0.14, 0.87, 0.77))
        ax.set_xlabel("success rate p")
        ax.set_ylabel("posterior density")
    ax = fig.axes[0]
    for artist in [*ax.lines, *ax.collections]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.set_prop_cycle(None)  # arm k keeps colour Ck, as after a clear
    ax.set_autoscale_on(True)
    ax.relim()
    return ax


def _draw(fig_image, state, labels, show_truth):
    ax = _axes(fig_image)
    now = state.posterior()
    # The samples of the last round were drawn from the posteriors *before* its update.
    drawn_from = state.sampled_from if state.sampled_from is not None else now
    samples = state.samples
    x = _x_grid([now, drawn_from], samples, state.rates)
    dens = _pdf(drawn_from, x)
    chosen = state.arms[-1] if state.arms else None
    for k in range(state.n_arms):
        a, b = drawn_from.alpha[k], drawn_from.beta[k]
        line, = ax.plot(x, dens[:, k], lw=2.5 if k == chosen else 1.3,
                        label=f"{labels[k]}: Beta({a:g}, {b:g})")
        color = line.get_color()
        if samples is not None:
            y = float(_pdf(drawn_from, samples[k])[k])
            ax.vlines(samples[k], 0, y, colors=color, linestyles=":", lw=1)
            ax.plot([samples[k]], [y], marker="*" if k == chosen else "o",
                    ms=16 if k == chosen else 7, color=color, mec="black", mew=0.6, ls="none")
        if k == chosen:
            reward = state.rewards[-1]
            ax.plot(x, _pdf(now, x)[:, k], color=color, ls="--", lw=1.5,
                    label=f"{labels[k]} after reward {reward:g}: "
                          f"Beta({now.alpha[k]:g}, {now.beta[k]:g})")
        if show_truth:
            ax.plot([state.rates[k]], [0], marker="^", ms=9, color=color, mec="black",
                    mew=0.6, ls="none", clip_on=False)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(bottom=0)
    if chosen is None:
        ax.set_title("Round 0: every arm still has its prior. Press step.", fontsize="medium")
    else:
        ax.set_title(f"Round {state.round}: the highest sample (star) chooses {labels[chosen]}",
                     fontsize="medium")
    # No legend (it cost a third of a redraw): the table below names the colours and says
    # what the marks are.
    fig_image.render()


def _key_html(state, show_truth):
    """What the picture's marks mean (the picture has no legend)."""
    text = ("Curves: each arm's posterior before this round. Dots: the sample drawn from each; "
            "the highest (star) is the arm chosen, drawn thicker, and its dashed curve is "
            "its posterior after the reward.")
    if not state.arms:
        text = "Curves: each arm's prior. Press step to draw one sample from each."
    if show_truth:
        text += " Triangles on the axis: the true rates."
    if state.arms:
        text += (" The table's alpha and beta include this round's reward (the dashed curve); "
                 "the solid curves are the posteriors the samples were drawn from.")
    return f"<div style='font-size:smaller'>{text}</div>"


def _summary_html(state, labels, show_truth=True):
    post = state.posterior()
    if state.arms:
        arm, reward = state.arms[-1], state.rewards[-1]
        head = (f"<b>Round {state.round}</b>: chose <b>{html.escape(labels[arm])}</b> "
                f"(highest sample {state.samples[arm]:.3f}), reward <b>{reward:g}</b>.")
    else:
        arm = None
        head = "<b>Round 0</b>: nothing pulled yet; every arm has its prior."
    header = ("arm (colour in the picture)", "true rate", "pulls", "successes", "alpha", "beta",
              "posterior mean", "sample this round")
    rows = []
    counts, succ = state.counts, state.successes
    for k in range(state.n_arms):
        sample = "" if state.samples is None else f"{state.samples[k]:.3f}"
        rows.append((swatch_html(f"C{k % 10}") + html.escape(labels[k]), f"{state.rates[k]:.3f}",
                     f"{counts[k]:d}", f"{succ[k]:g}", f"{post.alpha[k]:g}", f"{post.beta[k]:g}",
                     f"{post.mean[k]:.3f}", sample))
    total = f"Total pulls {int(counts.sum())}, total reward {float(succ.sum()):g}."
    return text_block(f"{head} {total}" + html_table(header, rows, bold=arm)
                      + _key_html(state, show_truth))


def ts_stepper(rates=SOURCE_RATES, *, alpha0=1.0, beta0=1.0, rng=0, labels=None,
               show_truth=True, figsize=(6.0, 3.1), dpi=96):
    """A widget that plays Thompson sampling one round (or 10, or 100) at a time.

    Buttons "step", "step 10", "step 100" and "reset: new experiment"; a figure with each arm's posterior
    density and a marker at the sample drawn this round (a star on the arm chosen, true
    rates as triangles when ``show_truth``); a table with the round, arm chosen, reward and
    counts. Taught in notebooks/03_thompson_sampling.ipynb.

    Parameters
    ----------
    rates : sequence of float in [0, 1]
        True rate of each arm; defaults to the course's five offers.
    alpha0, beta0 : float > 0
        Beta prior of every arm.
    rng : None, int or numpy.random.Generator
        Seed: the same seed replays the same rounds.
    labels : list of str, optional
        Arm names (default ``arm 0``, ``arm 1``, ...).

    Returns
    -------
    ipywidgets.VBox
        With attributes ``controls`` (dict of the buttons ``"step"``, ``"step 10"``,
        ``"step 100"``, ``"reset"``), ``summary`` (HTML), ``figure`` (a
        :class:`FigureImage`) and ``state`` (the :class:`TSStepper`).

    Examples
    --------
    >>> w = ts_stepper([0.2, 0.5, 0.8], rng=1)
    >>> w.controls["step 10"].click()
    >>> w.state.round, int(w.state.counts.sum())
    (10, 10)
    >>> "Round 10" in w.summary.value
    True
    """
    state = TSStepper(rates, alpha0=alpha0, beta0=beta0, rng=rng)
    if labels is None:
        labels = [f"arm {k}" for k in range(state.n_arms)]
    labels = [str(x) for x in labels]
    if len(labels) != state.n_arms:
        raise ValueError(f"labels has {len(labels)} names, must have one per arm "
                         f"({state.n_arms}).")
    fig = FigureImage(figsize=figsize, dpi=dpi)
    summary = W.HTML()

    def redraw():
        _draw(fig, state, labels, show_truth)
        summary.value = _summary_html(state, labels, show_truth)

    def stepper(n):
        def on_click(_button=None):
            state.step(n)
            redraw()
        return on_click

    def on_reset(_button=None):
        state.reset()
        redraw()

    controls = {}
    for name, n in (("step", 1), ("step 10", 10), ("step 100", 100)):
        controls[name] = W.Button(description=name, tooltip=f"play {n} round(s)")
        controls[name].on_click(stepper(n))
    controls["reset"] = W.Button(description="reset: new experiment", button_style="warning",
                                 tooltip="every arm back to its prior; new random luck")
    controls["reset"].on_click(on_reset)
    tidy_controls(controls.values())

    redraw()
    box = W.VBox([W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap")),
                  fig.image, summary])
    box.controls = controls
    box.summary = summary
    box.figure = fig
    box.state = state
    box.redraw = redraw
    return box
