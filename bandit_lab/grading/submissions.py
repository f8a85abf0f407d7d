"""Finding the notebooks handed in, reading them all, and telling which exercise each is.

Every submission is read into memory (:func:`read_all`) before any is executed, so no
learner's code can change another learner's file before it is graded: the sandbox that runs
a notebook only ever sees its own private copy.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from .keys import EXERCISE_STEM

__all__ = [
    "Submission",
    "find_submissions",
    "read_all",
    "identify",
    "structure_notes",
    "prepare",
    "imported_modules",
]

MAX_NOTEBOOK_BYTES = 50_000_000  # a notebook larger than this is not read (nor graded)

_CHECK_CALL = re.compile(r"^(\s*)grader\s*\.\s*(check|check_all|export)\s*\(.*\)\s*;?\s*(#.*)?$")


@dataclass
class Submission:
    """One notebook handed in, and the student it belongs to."""

    path: Path
    student: str


def _student_from_stem(stem, fallback):
    name = EXERCISE_STEM.sub("", stem)
    name = re.sub(r"[\s_.\-]+", " ", name).strip().replace(" ", "_")
    return name or fallback


def find_submissions(paths):
    """Every notebook under ``paths`` (files or folders), with the student it belongs to.

    A notebook in a sub-folder of a given folder belongs to that sub-folder's student
    (``submissions/alice/ex01_beta_update.ipynb`` -> ``alice``); a notebook directly in it,
    or given as a file, to its file name minus the exercise's name
    (``alice_ex01_beta_update.ipynb`` -> ``alice``), or, when nothing is left, to its folder.
    """
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            for nb in sorted(p.rglob("*.ipynb")):
                if ".ipynb_checkpoints" in nb.parts:
                    continue
                rel = nb.relative_to(p)
                student = (
                    rel.parts[0]
                    if len(rel.parts) > 1
                    else _student_from_stem(nb.stem, p.resolve().name)
                )
                found.append(Submission(nb, student))
        elif p.is_file():
            found.append(Submission(p, _student_from_stem(p.stem, p.resolve().parent.name)))
        else:
            raise FileNotFoundError(f"submission path {str(p)!r} does not exist.")
    return found


def read_all(submissions):
    """``[(submission, text or None, problem or None)]``: every file read before any runs."""
    out = []
    for sub in submissions:
        try:
            size = sub.path.stat().st_size
            if size > MAX_NOTEBOOK_BYTES:
                out.append(
                    (
                        sub,
                        None,
                        f"{size / 1e6:.0f} MB, larger than the "
                        f"{MAX_NOTEBOOK_BYTES / 1e6:.0f} MB a notebook may be",
                    )
                )
                continue
            out.append((sub, sub.path.read_text(encoding="utf-8"), None))
        except (OSError, UnicodeDecodeError) as exc:
            out.append((sub, None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"))
    return out


def identify(nb, path, keys):
    """(exercise name or None, note or None)."""
    meta = nb.get("metadata", {}).get("otter", {}) if isinstance(nb, dict) else {}
    name = meta.get("assignment_name") if isinstance(meta, dict) else None
    by_file = [k for k in keys if k == path.stem]
    if name not in keys:
        m = EXERCISE_STEM.search(path.stem)
        guess = [k for k in keys if m and k.startswith(f"ex{m.group(1)}")]
        by_ids = []
        if isinstance(nb, dict) and nb.get("cells"):
            ids = {c.get("id") for c in nb["cells"] if isinstance(c, dict)}
            overlap = {k: len(ids & set(key.cell_ids)) for k, key in keys.items()}
            best = max(overlap.values())
            if best >= 3:
                by_ids = [k for k, v in overlap.items() if v == best]
        for candidates in (by_file, guess, by_ids):
            if len(candidates) == 1:
                name = candidates[0]
                break
        else:
            return None, (
                f"could not tell which exercise {path.name!r} is (no otter metadata, "
                "no exercise name in the file name), not graded"
            )
    if name not in path.stem:
        return name, f"file renamed: {path.name!r} graded as {name}"
    return name, None


def structure_notes(nb, key):
    """Notes on the cells a learner deleted or moved, from the handed-out cell ids."""
    notes = []
    ids = [c.get("id") for c in nb.cells]
    expected = [i for i in key.cell_ids if i]
    if expected and not set(ids) & set(expected):
        return [
            "its cells carry none of the handed-out cell ids (saved by an old Jupyter, or "
            "copied into a new notebook?), so deleted or moved cells were not checked"
        ]
    present = [i for i in ids if i in set(expected)]
    missing = [i for i in expected if i not in set(ids)]
    if missing:
        shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
        notes.append(f"{len(missing)} cell(s) deleted ({shown}), graded without them")
    order = {cid: k for k, cid in enumerate(expected)}
    seq = [order[i] for i in present]
    matcher = difflib.SequenceMatcher(a=sorted(seq), b=seq, autojunk=False)
    kept = {
        seq[j]
        for block in matcher.get_matching_blocks()
        for j in range(block.b, block.b + block.size)
    }
    moved = [expected[s] for s in seq if s not in kept]
    if moved:
        shown = ", ".join(moved[:6]) + (" ..." if len(moved) > 6 else "")
        notes.append(f"cell(s) moved out of order ({shown}), graded in the order submitted")
    return notes


def prepare(nb):
    """A copy to execute: outputs dropped, grader.check calls skipped, cells numbered."""
    nb = copy.deepcopy(nb)
    for k, cell in enumerate(nb.cells):
        cell.metadata["bandit_lab_cell"] = k
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        lines = cell.source.splitlines()
        for j, line in enumerate(lines):
            m = _CHECK_CALL.match(line)
            if m:
                lines[j] = f"{m.group(1)}pass  # {line.strip()}: graded after the last cell"
        cell.source = "\n".join(lines)
    return nb


def imported_modules(nb):
    """The modules a notebook imports (``import a.b``, ``from a import b``), in order."""
    import ast

    names = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return list(dict.fromkeys(names))


def cell_label(cell):
    """``cell 5 (ex01-q2-answer)``: the number a learner sees, and the cell's id."""
    cid = cell.get("id")
    k = cell.metadata.get("bandit_lab_cell")
    return f"cell {k + 1}" + (f" ({cid})" if cid else "")
