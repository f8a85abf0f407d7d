"""What comes back from a kernel, checked before a mark is given for it.

A kernel's answer for a question is the text of a Python string literal holding JSON:
``{"body": ..., "mac": ...}``. It is read with :func:`ast.literal_eval` (literals only, no
code), its HMAC checked with the secret only the grader and the runner it installed hold,
and its body checked against what the grader sent: the nonce, the question, the test cases
by name and in order. The marks are computed from the grader's own points; the kernel only
says which cases passed, why the others did not, and what it found replaced.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json

__all__ = ["parse", "affected", "score"]

MAX_REPLY = 2_000_000  # characters of a test result
_MACHINERY = (
    "runner.",
    "shell",
    "kernel",
    "sys.",
    "json.",
    "signal.",
    "otter.",
    "IPython.",
    "ipykernel.",
    "jupyter_client.",
)
_ALWAYS = {
    "builtins.__import__",
    "builtins.exec",
    "builtins.compile",
    "builtins.__build_class__",
    "builtins.getattr",
    "builtins.isinstance",
    "builtins.callable",
}


def parse(reply, nonce, q, cases, secret):
    """The kernel's answer for question ``q``, checked; (result, problem)."""
    if not isinstance(reply, dict) or reply.get("status") != "ok":
        return None, "its tests could not be run (the kernel answered with an error)"
    value = (reply.get("user_expressions") or {}).get("r")
    if not isinstance(value, dict) or value.get("status") != "ok":
        ename = value.get("ename") if isinstance(value, dict) else None
        return (
            None,
            f"its tests could not be run ({ename or 'no result'}; was the grader's runner replaced?)",
        )
    text = (value.get("data") or {}).get("text/plain")
    if not isinstance(text, str) or len(text) > MAX_REPLY:
        return None, "its test results came back malformed"
    problem = "its test results came back malformed or forged"
    try:
        literal = ast.literal_eval(text)  # a Python string literal: no code is run
        signed = json.loads(literal) if isinstance(literal, str) else None
        body, mac = signed["body"], signed["mac"]
        good = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        if not (isinstance(mac, str) and hmac.compare_digest(mac, good)):
            return None, problem
        data = json.loads(body)
    except (
        ValueError,
        SyntaxError,
        TypeError,
        KeyError,
        AttributeError,
        MemoryError,
        RecursionError,
    ):
        data = None
    if not isinstance(data, dict) or data.get("nonce") != nonce or data.get("question") != q:
        return None, problem
    got = data.get("cases")
    if not isinstance(got, list) or len(got) != len(cases):
        return None, problem
    clean = []
    for c, r in zip(cases, got):
        if (
            not isinstance(r, dict)
            or r.get("name") != c.name
            or not isinstance(r.get("passed"), bool)
        ):
            return None, problem
        kind = (
            r.get("kind")
            if r.get("kind") in ("passed", "failed", "blank", "undefined", "timeout")
            else "failed"
        )
        clean.append(
            {
                "passed": r["passed"] and kind == "passed",
                "kind": kind,
                "message": str(r.get("message", ""))[:600],
            }
        )
    replaced = data.get("replaced")
    replaced = (
        [str(x)[:200] for x in replaced[:50]] if isinstance(replaced, list) else ["(unknown)"]
    )
    return {"cases": clean, "replaced": replaced}, None


def affected(replaced, cases):
    """Which replaced names ``cases`` rely on (the machinery: every question)."""
    uses = set().union(*(c.uses for c in cases)) if cases else set()
    packages = {u.split(".")[0] for u in uses}
    hit = []
    for name in replaced:
        base = name.removesuffix(".__code__")
        if base.startswith(_MACHINERY) or base in _ALWAYS:
            hit.append(base)
        elif base.startswith("builtins."):
            if base in uses:
                hit.append(base)
        elif base.split(".")[0] in packages:
            hit.append(base)
    return list(dict.fromkeys(hit))


def score(q, possible, cases, got):
    """(points earned, why it is 0 if it was tampered with, the report's lines) for ``q``."""
    if got is None:
        return 0.0, "", [f"{q}: 0/{possible:g} - its tests did not run to the end"]
    hit = affected(got["replaced"], cases)
    earned = float(sum(c.points for c, r in zip(cases, got["cases"]) if r["passed"]))
    why = ""
    if hit:
        shown = ", ".join(hit[:4]) + (" ..." if len(hit) > 4 else "")
        why = f"{q} scores 0: the notebook replaced {shown}, which its tests rely on"
        earned = 0.0
    kinds = {r["kind"] for r in got["cases"]}
    head = f"{q}: {earned:g}/{possible:g}"
    if kinds <= {"blank", "undefined"} and "blank" in kinds:
        return earned, why, [f"{head} - {q} is not answered yet"]
    lines = [head]
    for c, r in zip(cases, got["cases"]):
        which = f"({'hidden' if c.hidden else 'public'}, {c.points:g} pt)"
        if r["passed"]:
            lines.append(f"  passed  {c.name} {which}")
        else:
            lines.append(f"  FAILED  {c.name} {which}: {r['message']}")
    return earned, why, lines
