"""What runs inside the Python process that executes a learner's notebook.

Two users. A learner's ``grader.check("q1")`` (:mod:`bandit_lab.grading.learner`) calls
:func:`run_cases` on the question's public tests, in the learner's own kernel. The grader
sends this module's *source* to each submission's kernel before the first learner cell and
calls :func:`install`, which

- imports what the tests will need, and keeps a copy of the builtins and of those modules'
  namespaces: the tests later import *these* copies, so ``builtins.abs = ...`` or
  ``numpy.allclose = ...`` in a learner's cell does not reach them;
- records what the tests rely on (builtins, numpy, scipy.stats, math, otter's test classes,
  the course package, and the kernel's own machinery: IPython's execution and display
  functions, the session that signs messages, ``json``), so that anything replaced by the
  time the tests run is reported by name;
- creates, in a closure, the runner that the grader calls once per question after the last
  learner cell, with the question's tests (public and hidden) and a fresh nonce. It returns
  plain JSON: the nonce, which cases passed and why the others did not, and what was
  replaced. The grader computes the marks from its own copy of the points.

Standard library only, and nothing at import time: this file is executed as it is in a fresh
kernel. What it can and cannot promise is said in docs/instructors.md ("Safety").
"""

__all__ = ["is_blank", "run_cases", "install", "WATCHED"]

# Modules whose functions and classes the tests rely on (with their submodules).
WATCHED = (
    "builtins",
    "math",
    "json",
    "signal",
    "numpy",
    "scipy.stats",
    "scipy.special",
    "otter.test_files",
    "bandit_lab",
    "IPython.core",
    "ipykernel",
    "jupyter_client.session",
)

_STUBS = (
    "def f():\n    ...\n",
    "def f():\n    pass\n",
    "def f():\n    '''doc'''\n    ...\n",
    "def f():\n    '''doc'''\n",
    "def f():\n    '''doc'''\n    pass\n",
)


def _stub_codes():
    codes = set()
    for src in _STUBS:
        ns = {}
        exec(compile(src, "<stub>", "exec"), ns)
        codes.add(ns["f"].__code__.co_code)
    return codes


_CACHE = {}  # the stub bytecodes, the library folders: computed once

_RESERVE = 64 << 20  # bytes held until the tests run (see install)


def is_blank(value):
    """Whether ``value`` is still the blank a learner was asked to fill in.

    ``...`` (or a pair of them), a function whose body is only ``...`` or ``pass``, and a
    class all of whose methods are such stubs.

    >>> is_blank(...), is_blank((..., ...)), is_blank(0.5), is_blank(None)
    (True, True, False, False)
    >>> def stub(a, b):
    ...     ...
    >>> def done(a, b):
    ...     return a + b
    >>> def constant(a, b):  # a wrong answer, not a blank one
    ...     return 0
    >>> is_blank(stub), is_blank(done), is_blank(constant)
    (True, False, False)
    """
    import types

    if "stubs" not in _CACHE:
        _CACHE["stubs"] = _stub_codes()
    if value is Ellipsis:
        return True
    if type(value) in (tuple, list) and 0 < len(value) <= 16:
        return any(v is Ellipsis for v in value)
    if isinstance(value, types.FunctionType):
        code = value.__code__
        return (
            code.co_code in _CACHE["stubs"]
            and not code.co_names
            and all(c is None or c is Ellipsis or isinstance(c, str) for c in code.co_consts)
        )
    if isinstance(value, type) and getattr(value, "__module__", "") == "__main__":
        funcs = [f for f in vars(value).values() if isinstance(f, types.FunctionType)]
        return bool(funcs) and all(is_blank(f) for f in funcs)
    return False


def _library_file(filename):
    import sys

    if "prefixes" not in _CACHE:
        _CACHE["prefixes"] = tuple({p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix) if p})
    return filename.startswith(("<frozen", *_CACHE["prefixes"]))


def _explain(exc, test_file):
    """A sentence for an exception a test raised: whose code raised it, and what."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())[:300]
    if isinstance(exc, AssertionError):
        return text or "one of its checks failed"
    tb, where = exc.__traceback__, None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename != test_file and not _library_file(code.co_filename):
            where = code.co_name
        tb = tb.tb_next
    what = f"{name}: {text}" if text else name
    if where and where != "<module>":
        return f"your `{where}` raised {what}"
    if where:
        return f"your code raised {what}"
    return f"the test could not use your answer: {what}"


def run_cases(cases, env, *, test_globals=None, timeout=None, blank=is_blank):
    """Run test cases against the namespace ``env``; one result dict per case.

    Each case is ``{"name", "source", "params"}``: ``source`` defines the function ``name``,
    whose parameters are looked up in ``env`` (``env`` itself for a parameter named
    ``env``). A result is ``{"name", "passed", "kind", "message"}`` where ``kind`` is
    ``passed``, ``failed``, ``blank`` (an answer it needs is still ``...``), ``undefined``
    (a name it needs was never defined) or ``timeout``.
    """
    import signal
    import threading

    results = []
    alarm = (
        timeout
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )

    def too_slow(signum, frame):
        raise TimeoutError(f"stopped after {timeout:g} s")

    old = signal.signal(signal.SIGALRM, too_slow) if alarm else None
    if alarm:
        signal.setitimer(signal.ITIMER_REAL, timeout, 1.0)
    try:
        for case in cases:
            results.append(_run_case(case, env, test_globals, blank))
            if results[-1]["kind"] == "timeout":
                for rest in cases[len(results) :]:
                    results.append(
                        {
                            "name": rest["name"],
                            "passed": False,
                            "kind": "timeout",
                            "message": results[-1]["message"],
                        }
                    )
                break
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return results


def _run_case(case, env, test_globals, blank):
    name, params = case["name"], list(case["params"])
    result = {"name": name, "passed": False, "kind": "failed", "message": ""}
    missing = [p for p in params if p != "env" and p not in env]
    if missing:
        result.update(
            kind="undefined",
            message=f"`{missing[0]}` is not defined: run the cell "
            "that defines it (and the cells above it).",
        )
        return result
    blanks = [p for p in params if p != "env" and blank(env[p])]
    if blanks:
        result.update(
            kind="blank",
            message=f"`{blanks[0]}` is not answered yet: replace the "
            "`...` with your answer and run its cell.",
        )
        return result
    filename = f"<test {name}>"
    try:
        ns = dict(test_globals) if test_globals is not None else {"__name__": "bandit_lab_test"}
        exec(compile(case["source"], filename, "exec"), ns)
        ns[name](**{p: (env if p == "env" else env[p]) for p in params})
    except TimeoutError as exc:
        result.update(kind="timeout", message=f"{exc}: does the code it tests ever finish?")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        result["message"] = _explain(exc, filename)
    else:
        result.update(passed=True, kind="passed")
    return result


def _watched(name, roots=WATCHED):
    """Whether module ``name`` is watched: one of ``roots`` or inside one, or a package
    holding one (``scipy`` itself, for ``from scipy import integrate``)."""
    return any(
        name == root or name.startswith(root + ".") or root.startswith(name + ".") for root in roots
    )


class _Values(tuple):
    """A function's keyword-only defaults as they are now (the dict's keys and values): the
    same as another only if it holds the very same objects, so a default changed in place
    in that dict shows."""

    def __new__(cls, kwdefaults):
        return super().__new__(cls, (x for pair in kwdefaults.items() for x in pair))

    def same(self, other):
        return (
            isinstance(other, _Values)
            and len(self) == len(other)
            and all(a is b for a, b in zip(self, other))
        )


def _fingerprint(sys, types, extra, roots=WATCHED):
    """{dotted name: the object it names}, for what the tests and the kernel rely on."""
    prints = {}

    def add(prefix, ns, owner_module=None):
        for key, value in list(ns.items()):
            if not callable(value) and not isinstance(value, (property, staticmethod, classmethod)):
                continue
            prints[f"{prefix}.{key}"] = value
            # numpy's public functions dispatch to a plain function kept on them
            for label, func in (
                (key, value),
                (f"{key}._implementation", getattr(value, "_implementation", None)),
            ):
                if isinstance(func, types.FunctionType):
                    prints[f"{prefix}.{label}.__code__"] = func.__code__
                    # a tuple cannot change in place: a new one is a new object
                    prints[f"{prefix}.{label}.__defaults__"] = func.__defaults__
                    kw = func.__kwdefaults__
                    prints[f"{prefix}.{label}.__kwdefaults__"] = kw if not kw else _Values(kw)
            if (
                owner_module
                and isinstance(value, type)
                and getattr(value, "__module__", None) == owner_module
            ):
                add(f"{prefix}.{key}", dict(vars(value)))

    for modname, module in list(sys.modules.items()):
        if _watched(modname, roots) and isinstance(module, types.ModuleType):
            prints[f"sys.modules[{modname!r}]"] = module
            add(modname, dict(vars(module)), modname)
    for label, obj in extra:
        for key, value in list(vars(obj).items()):
            if callable(value) and hasattr(type(obj), key):
                prints[f"{label}.{key}"] = value
        for fmt_dict in ("type_printers", "deferred_printers", "singleton_printers"):
            table = getattr(obj, fmt_dict, None) if "formatter" in label else None
            if isinstance(table, dict):
                for key, value in list(table.items()):
                    prints[f"{label}.{fmt_dict}[{key!r}]"] = value
    return prints


def install(attr, preload=(), secret="", watch=()):
    """Capture, before any learner cell, what the tests rely on; put the runner on ``sys``.

    The grader later evaluates ``sys.<attr>(payload)`` once per question. The runner signs
    what it returns with ``secret`` (HMAC-SHA256), which only it and the grader hold: a
    function put in its place cannot sign a forged result, unless the learner's code digs
    the key out of this closure, which in-process checks cannot prevent (docs/instructors.md,
    "Safety").
    """
    import builtins
    import hashlib
    import hmac
    import importlib
    import json
    import sys
    import time
    import types

    for name in (*preload, *watch):
        try:
            importlib.import_module(name)
        except Exception:
            pass
    # the modules the tests import are watched too (``scipy.integrate`` for ``integrate.quad``)
    mods = [w for w in watch if isinstance(sys.modules.get(w), types.ModuleType)]
    roots = WATCHED + tuple(  # the deepest: scipy.integrate, not all of scipy
        m for m in mods if m not in WATCHED and not any(o.startswith(m + ".") for o in mods)
    )
    shell = getattr(builtins, "get_ipython", lambda: None)()
    env = shell.user_ns if shell is not None else sys.modules["__main__"].__dict__
    extra = []
    if shell is not None:
        extra = [
            ("shell", shell),
            ("shell.display_formatter", shell.display_formatter),
            ("shell.displayhook", shell.displayhook),
        ]
        text = shell.display_formatter.formatters.get("text/plain")
        if text is not None:
            extra.append(("shell.text_formatter", text))
        kernel = getattr(shell, "kernel", None)
        if kernel is not None:
            extra += [("kernel", kernel), ("kernel.session", kernel.session)]
    own = dict(globals())
    before = _fingerprint(sys, types, extra, roots)
    for key, value in own.items():
        if callable(value):
            before[f"runner.{key}"] = value
    snapshots = {
        name: dict(vars(mod))
        for name, mod in list(sys.modules.items())
        if _watched(name, roots) and isinstance(mod, types.ModuleType) and name != "builtins"
    }
    made = {}
    real_import = builtins.__import__
    dumps, loads, monotonic = json.dumps, json.loads, time.monotonic
    sign, sha256, key = hmac.new, hashlib.sha256, secret.encode()
    fingerprint, run, blank, module_type = _fingerprint, run_cases, is_blank, types.ModuleType
    values_type = _Values

    def snapshot(name):
        if name not in made:
            mod = made[name] = module_type(name)
            for key, value in snapshots[name].items():
                if (
                    isinstance(value, module_type)
                    and value.__name__ in snapshots
                    and value.__name__ != name
                ):
                    value = snapshot(value.__name__)
                mod.__dict__[key] = value
        return made[name]

    def test_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name in snapshots:
            return snapshot(name) if fromlist else snapshot(name.partition(".")[0])
        return real_import(name, globals, locals, fromlist, level)

    test_builtins = dict(vars(builtins))
    test_builtins["__import__"] = test_import
    test_globals = {"__builtins__": test_builtins, "__name__": "bandit_lab_test"}

    def changed():
        now = fingerprint(sys, types, extra, roots)
        for key, value in own.items():
            if callable(value):
                now[f"runner.{key}"] = value
        now.update(machinery())
        return sorted(
            k
            for k, v in before.items()
            if not (v.same(now.get(k)) if isinstance(v, values_type) else now.get(k, before) is v)
        )

    def runner(payload):
        reserve.clear()  # the tests get back the memory kept for them
        start = monotonic()
        p = loads(payload)
        # nothing of the learner's runs between two questions' tests: the last look stands
        replaced = last[0] if last else changed()
        results = run(
            p["cases"], env, test_globals=test_globals, timeout=p.get("timeout"), blank=blank
        )
        after = changed()
        last[:] = [after]
        replaced = sorted(set(replaced) | set(after))
        body = dumps(
            {
                "nonce": p["nonce"],
                "question": p["question"],
                "cases": results,
                "replaced": replaced[:50],
                "seconds": round(monotonic() - start, 3),
            }
        )
        return dumps({"body": body, "mac": sign(key, body.encode(), sha256).hexdigest()})

    def machinery():
        """The runner's own parts: its code and what its closure holds (a learner who swaps
        one of them, say the function that runs the cases, is reported)."""
        parts = {}
        for label, func in (("runner", runner), ("runner.changed", changed)):
            parts[f"{label}.__code__"] = func.__code__
            for name, cell in zip(func.__code__.co_freevars, func.__closure__ or ()):
                try:
                    parts[f"{label}.<{name}>"] = cell.cell_contents
                except ValueError:  # an empty cell
                    parts[f"{label}.<{name}>"] = None
        return parts

    # memory kept aside while the learner's cells run, so that a notebook that fills its
    # memory to the limit (and keeps it) still leaves the checks and the tests room to run
    reserve = [bytearray(_RESERVE)]
    last = []  # what the last look found replaced
    before.update(machinery())
    setattr(sys, attr, runner)
