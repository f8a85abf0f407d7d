"""For maintainers: regenerate ``exercises/`` and ``solutions/`` from the masters.

    python -m bandit_lab.grading assign [--course DIR] [--check] [--force] [NAMES...]

The masters are ``COURSE/exercises_src/ex*.ipynb`` (otter-grader's assignment format; see
"Adding an exercise" in docs/instructors.md). ``otter assign`` splits each into the learner's
notebook (public tests in its metadata) and the solution notebook (public and hidden tests);
then both are executed top to bottom in a fresh kernel, so they are committed with their
outputs. A learner's blank notebook runs top to bottom without an error, and each of its
``grader.check`` cells says, in grey, that the question is not answered yet: a learner
opening an exercise sees no failure before writing anything (``assign`` refuses a master whose
blank notebook would show one).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from .keys import EXERCISE_STEM

__all__ = ["assign", "assign_main"]

# The set-up cell otter writes imports otter's own client; ours runs the same tests with the
# grader's messages (bandit_lab.grading.learner).
_INIT = '# Initialize Otter\nfrom bandit_lab.grading.learner import Notebook\ngrader = Notebook("{name}")'


def _folders(course, source, exercises, solutions):
    course = Path(course) if course is not None else Path.cwd()
    return (
        Path(source) if source is not None else course / "exercises_src",
        Path(exercises) if exercises is not None else course / "exercises",
        Path(solutions) if solutions is not None else course / "solutions",
    )


def _stable_ids(nb, master_ids, prefix):
    """Give the cells otter adds (init and check cells, with random ids) stable ids."""
    taken = set(master_ids)
    for i, cell in enumerate(nb.cells):
        if cell.get("id") in master_ids:
            continue
        src = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        check = re.match(r'grader\.check\("([^"]+)"\)', src.strip())
        if src.startswith("# Initialize Otter"):
            new = f"{prefix}-otter-init"
        elif check:
            new = f"{prefix}-{check.group(1)}-check"
        else:
            new = f"{prefix}-otter-cell-{i}"
        while new in taken:
            new += "-x"
        taken.add(new)
        cell["id"] = new
    return nb


def _is_check(cell):
    return cell.cell_type == "code" and cell.source.strip().startswith("grader.check(")


def _assign_one(master, workdir, *, execute=False):
    """Run ``otter assign`` on one master; return (learner notebook, solution notebook) text.

    With ``execute=True`` both are executed top to bottom in a fresh kernel, in the folder
    otter wrote them to (so ``grader.check`` finds the notebook it reads its tests from).
    """
    import nbformat
    from otter.assign import main as otter_assign

    out = Path(workdir) / master.stem
    otter_assign(str(master), str(out), no_run_tests=True, no_pdfs=True)
    master_ids = {c.get("id") for c in nbformat.read(master, as_version=4).cells}
    texts = []
    for sub in ("student", "autograder"):
        path = out / sub / master.name
        nb = nbformat.read(path, as_version=4)
        m = EXERCISE_STEM.match(master.stem)
        _stable_ids(nb, master_ids, f"ex{m.group(1)}" if m else master.stem)
        init = next(c for c in nb.cells if c.source.startswith("# Initialize Otter"))
        init.source = _INIT.format(name=master.name)
        if sub == "autograder":
            _without_markup(nb)
        if execute:
            nbformat.write(nb, path)
            _execute(nb, path.parent)
            if sub == "student":
                _checks_say_not_answered(nb, master.name)
        texts.append(nbformat.writes(nb) + "\n")
    return tuple(texts)


# What otter leaves in the solution notebook for its own use: the lines that mark a
# solution, the learner's version of a prompt, the "# SOLUTION" at the end of a line.
_SOLUTION_MARKER = re.compile(r"^\s*#\s*(BEGIN|END)\s+SOLUTION(\s+NO\s+PROMPT)?\s*$", re.IGNORECASE)
_PROMPT_BLOCK = re.compile(
    r"^[ \t]*(?:\'\'\'|\"\"\")\s*#\s*BEGIN\s+PROMPT\b.*?"
    r"^[ \t]*(?:\'\'\'|\"\"\")\s*#\s*END\s+PROMPT[^\n]*(?:\n|$)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
_SOLUTION_SUFFIX = re.compile(r"\s*#\s*SOLUTION\s*$", re.IGNORECASE)


def _without_markup(nb):
    """The solution notebook as a reader sees it: the answers, without the authoring markup
    (``# BEGIN SOLUTION``, a ``''' # BEGIN PROMPT`` block, a trailing ``# SOLUTION``) that tells otter
    what to hide from learners. The masters keep it; only the generated solutions lose it."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = _PROMPT_BLOCK.sub("", cell.source)
        lines = [
            _SOLUTION_SUFFIX.sub("", line)
            for line in text.split("\n")
            if not _SOLUTION_MARKER.match(line)
        ]
        cell.source = "\n".join(lines).strip("\n")
    return nb


def _checks_say_not_answered(nb, name):
    """Every check cell of the executed blank notebook says its question is not answered
    yet (and nothing else ran into an error), or a ValueError naming the first that does not."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        shown = "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        if errors or (_is_check(cell) and not re.match(r"q\w+: NOT ANSWERED YET", shown)):
            raise ValueError(
                f"{name}: the blank notebook's cell {cell.get('id')!r} shows "
                f"{(errors[0].ename if errors else shown)[:200]!r}, must show no failure (a "
                "check cell: 'not answered yet') before the learner writes anything."
            )
    return nb


def _execute(nb, folder, timeout=120):
    """Execute ``nb`` in place in a fresh ``python3`` kernel whose working folder is ``folder``."""
    from nbclient import NotebookClient

    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(folder)}},
    ).execute()
    return nb


def _up_to_date(path, text):
    """Whether the notebook at ``path`` is ``text`` up to what executing adds, and executed."""
    import nbformat

    if not path.exists():
        return False
    old = path.read_text(encoding="utf-8")
    executed = all(
        c.execution_count is not None
        for c in nbformat.reads(old, as_version=4).cells
        if c.cell_type == "code" and c.source.strip()
    )
    return executed and _comparable(old) == _comparable(text)


def _comparable(text):
    """A notebook's text without what executing it adds (outputs, counts, the kernel's
    language_info)."""
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    nb.metadata.pop("language_info", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(nb)


def assign(
    names=None,
    *,
    course=None,
    source=None,
    exercises=None,
    solutions=None,
    check=False,
    force=False,
):
    """Generate the learner and solution notebooks from the master notebooks.

    Parameters
    ----------
    names : list of str, optional
        Master notebook stems (``"ex01_beta_update"``); default: every master in ``source``.
    course : path, optional
        The course folder (default: the current folder), holding ``exercises_src/``,
        ``exercises/`` and ``solutions/``.
    source, exercises, solutions : path, optional
        Where the masters are, and where the learner and solution notebooks go (each
        defaults to the course folder's).
    check : bool
        Write nothing; report which generated files differ from the ones on disk. Outputs
        and execution counts are not compared (they are what executing adds; the
        solutions' outputs are compared by nbval when the test suite runs them). A file
        that was never executed counts as out of date.
    force : bool
        Execute and write every notebook, even those that are up to date (for instance
        after a change to ``bandit_lab`` that changes what they print).

    Returns
    -------
    list of Path
        The files written (or, with ``check=True``, the files that are out of date).
    """
    source, exercises, solutions = _folders(course, source, exercises, solutions)
    if not source.is_dir():
        raise ValueError(
            f"source == {str(source)!r} is not a folder: run in the course "
            "folder (the one holding exercises_src/), or pass --course."
        )
    masters = sorted(source.glob("ex*.ipynb"))
    if names:
        wanted = set(names)
        masters = [m for m in masters if m.stem in wanted or m.name in wanted]
        missing = wanted - {m.stem for m in masters} - {m.name for m in masters}
        if missing:
            raise ValueError(f"names == {sorted(missing)!r}, must be masters in {source}.")
    if not masters:
        raise ValueError(f"source == {str(source)!r} holds no master notebooks (ex*.ipynb).")
    changed = []
    with tempfile.TemporaryDirectory(prefix="bandit-lab-assign-") as tmp:
        for master in masters:
            texts = _assign_one(master, tmp)
            targets = [folder / master.name for folder in (exercises, solutions)]
            stale = [t for t, text in zip(targets, texts) if force or not _up_to_date(t, text)]
            if stale and not check:
                texts = _assign_one(master, Path(tmp) / "executed", execute=True)
                for target, text in zip(targets, texts):
                    if target in stale:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_text(text, encoding="utf-8")
            changed += stale
        if not names and check:
            expected = {m.name for m in masters}
            for folder in (exercises, solutions):
                changed += [p for p in sorted(folder.glob("*.ipynb")) if p.name not in expected]
    return changed


def assign_main(argv):
    p = argparse.ArgumentParser(
        prog="python -m bandit_lab.grading assign",
        description="Regenerate exercises/ and solutions/ from the masters in exercises_src/ "
        "with otter assign, and execute them (fresh kernel) so they are committed "
        "with their outputs.",
    )
    p.add_argument("names", nargs="*", help="master notebooks to do (default: all)")
    p.add_argument(
        "--course",
        metavar="DIR",
        default=".",
        help="the course folder holding exercises_src/ (default: the current folder)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if the committed files differ from what the masters generate",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="execute and rewrite every notebook, even those that are up to date",
    )
    args = p.parse_args(argv)
    root = Path(args.course).resolve()
    try:
        changed = assign(args.names or None, course=root, check=args.check, force=args.force)
    except ValueError as exc:
        print(f"assign: {exc}")
        return 2
    rel = [
        str(c.resolve().relative_to(root)) if c.resolve().is_relative_to(root) else str(c)
        for c in changed
    ]
    if args.check:
        if changed:
            print("Out of date (run `python -m bandit_lab.grading assign`):\n  " + "\n  ".join(rel))
            return 1
        print("exercises/ and solutions/ match the masters.")
        return 0
    print("Written:\n  " + "\n  ".join(rel) if rel else "Nothing to do: already up to date.")
    return 0
