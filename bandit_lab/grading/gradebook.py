"""The grade sheet: one row per student, written by the grader alone, after the batch."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .keys import ExerciseKey  # noqa: F401  (the doctest below uses it)

__all__ = [
    "GradeResult",
    "gradebook",
    "write_csv",
    "format_summary",
    "write_feedback",
    "NOTE_SEPARATOR",
    "NO_SANDBOX_NOTE",
]

NOTE_SEPARATOR = " | "  # between the notes of one student in the grade sheet
NO_SANDBOX_NOTE = (
    "graded WITHOUT a sandbox (--no-sandbox): its code ran with the grader's permissions"
)


@dataclass
class GradeResult:
    """The grade of one submission: points per question, and what went wrong."""

    student: str
    path: Path
    exercise: str | None
    scores: dict = field(default_factory=dict)  # question -> points earned
    notes: list = field(default_factory=list)  # what went wrong, in a sentence each
    feedback: str = ""  # the per-question test report (public and hidden)
    seconds: float = 0.0
    flags: list = field(default_factory=list)  # what the instructor should look at

    @property
    def total(self):
        return sum(self.scores.values())


def gradebook(results, keys):
    """(columns, rows): one row per student, one column per question, plus total and notes.

    Columns are ``student``, ``exNN.qK`` for every question of every exercise that anyone
    submitted, ``total`` and ``notes``. A student who submitted an exercise twice keeps the
    better grade; one who did not submit it scores 0 there, with a note.

    Examples
    --------
    >>> key = ExerciseKey("ex01_beta_update", {"q1": 3, "q2": 3}, {}, [])
    >>> graded = GradeResult("alice", Path("ex01_beta_update.ipynb"), key.name, {"q1": 3.0, "q2": 1.0})
    >>> columns, rows = gradebook([graded], {key.name: key})
    >>> columns
    ['student', 'ex01.q1', 'ex01.q2', 'total', 'notes']
    >>> print(format_summary(columns, rows, {key.name: key}))
    student  ex01  total
    -------  ----  -----
    alice    4/6   4/6
    """
    exercises = [k for k in keys if any(r.exercise == k for r in results)]
    columns = ["student"] + [f"{keys[e].short}.{q}" for e in exercises for q in keys[e].questions]
    columns += ["total", "notes"]
    students = list(dict.fromkeys(r.student for r in results))
    rows = []
    for student in students:
        mine = [r for r in results if r.student == student]
        row = {"student": student}
        notes = []
        total = 0.0
        for e in exercises:
            subs = [r for r in mine if r.exercise == e]
            best = max(subs, key=lambda r: r.total) if subs else None
            if best is None:
                notes.append(f"{keys[e].short}: not submitted")
            elif len(subs) > 1:
                others = ", ".join(r.path.name for r in subs if r is not best)
                notes.append(
                    f"{keys[e].short}: {len(subs)} submissions, kept the best "
                    f"({best.path.name}, also {others})"
                )
            for q in keys[e].questions:
                score = best.scores.get(q, 0.0) if best else 0.0
                row[f"{keys[e].short}.{q}"] = score
                total += score
            if best is not None:
                notes += [f"{keys[e].short}: {n}" for n in best.notes]
        for r in mine:
            if r.exercise is None:
                notes += r.notes
        row["total"] = total
        row["notes"] = NOTE_SEPARATOR.join(dict.fromkeys(notes))
        rows.append(row)
    return columns, rows


def _fmt(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


def write_csv(path, columns, rows):
    """Write the grade sheet (a spreadsheet or gradebook imports it)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for row in rows:
            w.writerow({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()})


def format_summary(columns, rows, keys, results=None):
    """A plain-text table: one line per student, a column per exercise, then the notes.

    With ``results``, the submissions flagged for the instructor (tampering, a sandbox that
    could not start) are listed first under "Look at these".
    """
    exercises = [k for k in keys if any(c.startswith(keys[k].short + ".") for c in columns)]
    head = ["student"] + [keys[e].short for e in exercises] + ["total"]
    possible = sum(keys[e].possible for e in exercises)
    table = []
    for row in rows:
        cells = [row["student"]]
        for e in exercises:
            got = sum(row[f"{keys[e].short}.{q}"] for q in keys[e].questions)
            cells.append(f"{_fmt(round(got, 2))}/{_fmt(keys[e].possible)}")
        cells.append(f"{_fmt(round(row['total'], 2))}/{_fmt(possible)}")
        table.append(cells)
    widths = [max(len(str(r[i])) for r in [head] + table) for i in range(len(head))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(head, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in table]
    flagged = [r for r in results or () if r.flags]
    if flagged:
        lines += ["", "Look at these (their marks may not be what the learner earned):"]
        for r in flagged:
            what = keys[r.exercise].short if r.exercise in keys else r.path.name
            for flag in dict.fromkeys(r.flags):
                lines.append(f"  {r.student}: {what}: {flag}")
    noted = [(row["student"], row["notes"]) for row in rows if row["notes"]]
    if noted:
        lines.append("")
        lines.append("Notes:")
        for student, text in noted:
            for note in text.split(NOTE_SEPARATOR):
                lines.append(f"  {student}: {note}")
    return "\n".join(lines)


def write_feedback(folder, results):
    """Each student's report, ``folder/STUDENT/EXERCISE.txt`` (hidden tests included)."""
    folder = Path(folder)
    for r in results:
        target = folder / _safe(r.student) / f"{_safe(r.exercise or r.path.stem)}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = [
            f"{r.path.name}: {r.exercise or 'not recognised'}",
            f"score: {_fmt(round(r.total, 2))}" if r.exercise else "",
        ]
        text += [f"note: {n}" for n in r.notes]
        text += ["", r.feedback]
        target.write_text("\n".join(text).strip() + "\n", encoding="utf-8")


def _safe(name):
    """A file name from a student's or a notebook's name (no folders, no dots first)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_ ." else "_" for ch in str(name)).strip(". ")
    return cleaned or "unnamed"
