"""How long does a learner wait between moving a widget's control and seeing it redrawn?

    python3 tasks.py bench            (or: .venv/bin/python benchmarks/bench_widgets.py)

Every builder in ``bandit_lab.widgets.__all__`` is built once, then each of its controls is
changed a few times by driving the widget's own callbacks without a browser or kernel: a
slider's ``value`` is set to a value it has not had yet (so caches are not flattered), a
dropdown or selection slider moves to its next option, a checkbox toggles, a button is
clicked. A change counts when it alters what the widget shows (an image's PNG bytes or an
HTML/label text anywhere in the widget tree); a control whose change redraws nothing (a
number box that a button reads) is listed but not timed.

Reported per widget and per control: the median and worst wall-clock time of a change and
the median CPU time (the machine's cores are shared, so wall time includes waiting for a
core). Target: median under 100 ms for every widget. Figures, not a pass/fail test.

The widgets measured: every function exported by ``bandit_lab.widgets`` or named
``*_explorer``/``*_stepper``/``*_lines``/``*_widget``/``*_dashboard`` in one of its modules'
``__all__``, and the service's ``dashboard_widget`` (notebook 10). A builder that needs
arguments gets them from RECIPES below (as its notebook builds it); a new builder without
a recipe is built with no arguments, and reported as skipped if that fails.

The verdict uses the median CPU time (the work one change costs); on an idle machine the
wall time is about the same, on a shared one it is longer by the wait for a core. It also
names the slowest control's median, since a learner feels each control on its own.

This machine's speed wanders (CPU times of the same work differ by up to 2x from one run
to the next), so the same run also times a fixed reference workload (REFERENCE below)
before every widget, and reports each widget's median as a multiple of it ("x ref"): that
ratio stays put when the machine's speed does not.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import platform
import statistics
import sys
import time
import warnings

import ipywidgets as W
import matplotlib
import numpy as np

matplotlib.use("Agg")

import bandit_lab.widgets as widgets  # noqa: E402

TARGET_MS = 100.0


# -- how to build the builders that need arguments (as their notebooks do) -----------------
def _customer_explorer():
    from bandit_lab import CreditCardEnv, LinearTS, run_contextual

    env = CreditCardEnv(n_customers=3_000, n_history=1_000, rng=0)
    policy = LinearTS(5, 11, prior_var=2.0, noise_var=0.05, rng=1)
    run_contextual(policy, env, n_steps=1500, rng=2)
    return widgets.customer_explorer(policy, env)


def _dashboard_widget():
    """The service's dashboard on a live in-process service: each refresh shows the next of
    several snapshots taken while traffic flowed (the HTTP fetch itself is not timed)."""
    import tempfile

    from fastapi.testclient import TestClient

    from bandit_lab import OFFER_NAMES, SOURCE_RATES
    from bandit_lab.service.app import create_app
    from bandit_lab.service.models import BetaSpec
    from bandit_lab.service.monitoring import dashboard_widget
    from bandit_lab.service.stores import open_store

    tmp = tempfile.mkdtemp(prefix="bench-widgets-")
    store = open_store(f"sqlite:///{tmp}/bench.db")
    client = TestClient(create_app(store, "offers", BetaSpec(OFFER_NAMES, bucket_seconds=0.02),
                                   rng=0))
    rng = np.random.default_rng(0)
    snapshots = []
    for _ in range(80):
        for _ in range(5):
            d = client.post("/decision").json()
            arm = d["arm_index"]
            reward = int(rng.random() < 5 * SOURCE_RATES[arm])
            client.post("/reward", json={"decision_id": d["decision_id"], "reward": reward})
        time.sleep(0.01)
        snapshots.append((client.get("/stats").json(), client.get("/timeline").json()))
    store.close()
    return dashboard_widget(fetch_fn=lambda: snapshots.pop(0) if len(snapshots) > 1
                            else snapshots[0])


def _ope_explorer():
    """Notebook 11's explorer with two fixed candidates (the notebook's LinearTS takes its
    probabilities precomputed; a redraw is the same either way)."""
    from bandit_lab import CreditCardEnv
    from bandit_lab.offpolicy import segment_policy

    env = CreditCardEnv(n_customers=10_000, n_history=5_000, rng=0)
    return widgets.ope_explorer(env, {"travel rule": segment_policy([3, 2, 1, 0]),
                                      "old rule": segment_policy([3, 2, 4, 0], epsilon=0.1)},
                                n_logs=60)


RECIPES = {
    "beta_explorer": lambda: widgets.beta_explorer(1.0, 1.0),
    "ts_stepper": lambda: widgets.ts_stepper(rng=0),
    "strategy_explorer": lambda: widgets.strategy_explorer(rng=0),
    "posterior_lines": lambda: widgets.posterior_lines(rng=0),
    "customer_explorer": _customer_explorer,
    "dashboard_widget": _dashboard_widget,
    "ope_explorer": _ope_explorer,
}
BUILDER_SUFFIXES = ("_explorer", "_stepper", "_lines", "_widget", "_dashboard")
ELSEWHERE = [("bandit_lab.service.monitoring", "dashboard_widget")]  # widgets outside widgets/


def reference():
    """The fixed workload every widget is compared with: one 600 x 320 figure of three
    curves rendered to PNG the way the widgets do, and a 50-run, 100-step Thompson
    sampling simulation of three arms."""
    from bandit_lab import BernoulliBandit, BetaBernoulliTS, simulate
    from bandit_lab.widgets._base import FigureImage

    fi = FigureImage(figsize=(7.5, 4.0), dpi=80, pixel_ratio=1)
    ax = fi.figure.add_axes((0.1, 0.12, 0.88, 0.8))
    t = np.arange(1, 201)
    for k in range(3):
        ax.plot(t, np.sqrt(t) * (k + 1), label=f"curve {k}")
    ax.set_xlabel("step t")
    ax.set_ylabel("value")
    ax.set_title("reference figure")
    fi.render()
    env, policy = BernoulliBandit([0.1, 0.06, 0.04]), BetaBernoulliTS(3)

    def run():
        fi.render()
        simulate(policy, env, n_steps=100, n_runs=50, rng=0)

    return run


REFERENCE = None  # built on first use


def time_reference(n=3):
    """CPU seconds of ``n`` runs of the reference workload."""
    global REFERENCE
    if REFERENCE is None:
        REFERENCE = reference()
        REFERENCE()  # warm
    out = []
    for _ in range(n):
        c0 = time.process_time()
        REFERENCE()
        out.append(time.process_time() - c0)
    return out


def builders():
    """name -> builder function, for every widget builder found (see the module's doc)."""
    out = {}
    for name in getattr(widgets, "__all__", []):
        obj = getattr(widgets, name, None)
        if inspect.isfunction(obj):
            out[name] = obj
    for mod in pkgutil.iter_modules(widgets.__path__):
        if mod.name.startswith("_"):
            continue
        sub = importlib.import_module(f"bandit_lab.widgets.{mod.name}")
        for name in getattr(sub, "__all__", []):
            obj = getattr(sub, name, None)
            if inspect.isfunction(obj) and name.endswith(BUILDER_SUFFIXES):
                out.setdefault(name, obj)
    for module, name in ELSEWHERE:
        try:
            out.setdefault(name, getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError) as err:
            print(f"({module}.{name} not measured: {err})")
    return out


def build(name, func):
    recipe = RECIPES.get(name)
    return recipe() if recipe is not None else func()


# -- reading a widget: its controls and what it shows ---------------------------------------
def _walk(widget, seen=None):
    seen = set() if seen is None else seen
    if id(widget) in seen:
        return
    seen.add(id(widget))
    yield widget
    for child in getattr(widget, "children", ()) or ():
        if isinstance(child, W.Widget):
            yield from _walk(child, seen)


def controls_of(w):
    """name -> control: the builder's ``controls`` dict, else every input found in the tree."""
    found = getattr(w, "controls", None)
    if isinstance(found, dict) and found:
        return dict(found)
    out = {}
    for k, child in enumerate(_walk(w)):
        if isinstance(child, W.Button) or (
                isinstance(child, W.ValueWidget) and not isinstance(child, (W.HTML, W.Label, W.Image,
                                                                              W.HTMLMath))):
            out[getattr(child, "description", "") or f"{type(child).__name__} {k}"] = child
    return out


def snapshot(w):
    """What the widget shows now: every image's bytes and every text, in tree order."""
    shown = []
    for child in _walk(w):
        if isinstance(child, W.Image):
            shown.append(bytes(child.value))
        elif isinstance(child, (W.HTML, W.HTMLMath, W.Label)):
            shown.append(child.value)
        elif isinstance(child, W.Output):
            shown.append(repr(child.outputs))
    return shown


def changes(ctl, n):
    """``n`` functions, each making one change to ``ctl``."""
    if isinstance(ctl, W.Button):
        return [ctl.click] * n

    def setter(value):
        return lambda: setattr(ctl, "value", value)

    if isinstance(ctl.value, bool):
        return [setter(not ctl.value if i % 2 == 0 else ctl.value) for i in range(n)]
    options = getattr(ctl, "options", None)
    if options:
        values = [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in options]
        start = values.index(ctl.value) if ctl.value in values else 0
        seq = [values[(start + 1 + i) % len(values)] for i in range(n)]
        return [setter(v) for v in seq]
    if isinstance(ctl, W.FloatLogSlider):
        exps = np.linspace(ctl.min, ctl.max, n + 2)[1:-1]
        seq = [float(ctl.base ** e) for e in exps]
    elif hasattr(ctl, "min") and hasattr(ctl, "max") and hasattr(ctl, "step"):
        lo, hi, step = ctl.min, ctl.max, ctl.step or 1
        if isinstance(ctl, (W.BoundedIntText, W.BoundedFloatText, W.IntText, W.FloatText)):
            hi = min(hi, lo + 100 * step)  # a number box: stay in a learner's range
        seq = list(np.linspace(lo, hi, n + 2)[1:-1])
        seq = [round(round((v - lo) / step) * step + lo, 10) for v in seq]
        if isinstance(ctl.value, int):
            seq = [int(v) for v in seq]
        # distinct from each other and from the start, so no cache serves a repeat
        seq = [v if v != ctl.value else v + step for v in seq]
    else:
        return []
    rng = np.random.default_rng(0)
    order = rng.permutation(len(seq))  # jump around the range, like a learner
    return [setter(type(seq[i])(seq[i])) for i in order]


def time_control(w, ctl, n):
    """(wall seconds, CPU seconds) of each change that redrew something; and the count of
    changes that did not."""
    walls, cpus, idle = [], [], 0
    for change in changes(ctl, n):
        before = snapshot(w)
        t0, c0 = time.perf_counter(), time.process_time()
        change()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if snapshot(w) != before:
            walls.append(wall)
            cpus.append(cpu)
        else:
            idle += 1
    return walls, cpus, idle


def _ms(x):
    return f"{1000 * x:8.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-control", type=int, default=7,
                        help="changes per control (default 7; about 20-80 per widget)")
    parser.add_argument("--only", nargs="*", default=None, help="builder names to measure")
    parser.add_argument("--pixel-ratio", type=int, choices=(1, 2), default=1,
                        help="device pixels per CSS pixel of the pictures (FigureImage.PIXEL_RATIO; "
                             "2 for a high-density screen); the reference workload stays at 1")
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore")
    print(f"Widget latency: control change -> redrawn output, driven without a browser "
          f"(Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the start)")
    print(f"{args.per_control} changes per control; target: median < {TARGET_MS:.0f} ms per widget "
          f"(judged on CPU time); pictures at pixel ratio {args.pixel_ratio}\n")

    time_reference(1)  # the reference is built at pixel ratio 1 whatever the widgets use
    widgets.FigureImage.PIXEL_RATIO = args.pixel_ratio
    per_widget, per_control, skipped, refs = [], [], [], []
    for name, func in builders().items():
        if args.only and name not in args.only:
            continue
        refs += time_reference()
        try:
            t0 = time.perf_counter()
            w = build(name, func)
            build_s = time.perf_counter() - t0
        except Exception as err:  # a new builder without a recipe
            skipped.append((name, f"could not build it with no arguments ({type(err).__name__}: "
                                  f"{err}); add a recipe to RECIPES"))
            continue
        ctls = controls_of(w)
        if not ctls:
            skipped.append((name, "no controls found"))
            continue
        # one untimed change first: imports and first-use caches are not a learner's wait
        first = changes(next(iter(ctls.values())), 1)
        if first:
            first[0]()
        walls, cpus = [], []
        for cname, ctl in ctls.items():
            cw, cc, idle = time_control(w, ctl, args.per_control)
            walls += cw
            cpus += cc
            per_control.append((name, cname, type(ctl).__name__, cw, cc, idle))
        slowest = max((statistics.median(cc), cname) for wname, cname, _, _, cc, _ in per_control
                      if wname == name and cc)
        per_widget.append((name, build_s, walls, cpus, slowest))
    refs += time_reference()

    ref = statistics.median(refs) if refs else float("nan")
    print(f"Reference workload (REFERENCE: a 600 x 320 figure rendered + a 50-run, 100-step "
          f"simulation), timed {len(refs)} times through the run: CPU median {_ms(ref).strip()} "
          f"ms, fastest {_ms(min(refs)).strip()}, slowest {_ms(max(refs)).strip()}.\n")
    print(f"{'widget':<20} {'changes':>7} {'CPU median':>10} {'x ref':>5} {'CPU worst':>9} "
          f"{'wall median':>11} {'build s':>7}  {'slowest control (CPU median)':<34} verdict")
    for name, build_s, walls, cpus, (slow_ms, slow_name) in per_widget:
        if not walls:
            print(f"{name:<20} {0:>7}  no change redrew anything")
            continue
        med = statistics.median(cpus)
        verdict = "ok" if 1000 * med < TARGET_MS else "MISSES the target"
        if verdict == "ok" and 1000 * slow_ms >= TARGET_MS:
            verdict = "ok; one control misses"
        slowest = f"{slow_name[:20]} ({1000 * slow_ms:.0f} ms)"
        print(f"{name:<20} {len(walls):>7} {_ms(med):>10} {med / ref:5.1f} {_ms(max(cpus)):>9} "
              f"{_ms(statistics.median(walls)):>11} {build_s:7.2f}  {slowest:<34} {verdict}")
    for name, why in skipped:
        print(f"{name:<20} skipped: {why}")

    print(f"\n{'widget':<20} {'control':<24} {'type':<16} {'n':>3} {'CPU median':>10} "
          f"{'CPU worst':>9} {'wall median':>11}")
    for name, cname, ctype, cw, cc, idle in per_control:
        if cw:
            row = f"{len(cw):>3} {_ms(statistics.median(cc)):>10} {_ms(max(cc)):>9} " \
                  f"{_ms(statistics.median(cw)):>11}"
        else:
            row = f"{0:>3}  (no redraw: an input the widget reads on another action)"
        if idle and cw:
            row += f"  ({idle} change(s) redrew nothing)"
        print(f"{name:<20} {cname[:24]:<24} {ctype[:16]:<16} {row}")
    slow = [n for n, _, _, cpus, _ in per_widget
            if cpus and 1000 * statistics.median(cpus) >= TARGET_MS]
    if slow:
        print(f"\nMissing the {TARGET_MS:.0f} ms median target: {', '.join(slow)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
