"""Grading a batch: read every submission first, then grade them where ``executor`` says.

The pieces of work are :class:`~.runner.Piece` objects (a submission's text, its key, the
settings) handed to the module-level :func:`~.runner.grade_piece` through the package's one
executor option (:func:`bandit_lab._parallel.map_blocks`): local worker processes by default,
or any ``concurrent.futures`` executor, a ``dask.distributed`` client or a scheduler address.
Every file is read before any is executed, so a notebook cannot change another student's
submission; the results come back in the submissions' order whatever ran them.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._parallel import check_executor, map_blocks
from .gradebook import NO_SANDBOX_NOTE, GradeResult
from .runner import CELL_TIMEOUT, DEADLINE, TEST_TIMEOUT, Piece, Settings, grade_piece
from .sandbox import Limits, SandboxUnavailable, sandbox_problem
from .submissions import identify, read_all

__all__ = ["grade_many", "grade_notebook_file"]


def _settings(cell_timeout, test_timeout, deadline, limits, sandbox, hide):
    for name, value in (
        ("cell_timeout", cell_timeout),
        ("test_timeout", test_timeout),
        ("deadline", deadline),
    ):
        if not value > 0:
            raise ValueError(f"{name} == {value!r}, must be > 0 seconds.")
    limits = (limits or Limits()).check()
    if sandbox:
        problem = sandbox_problem()
        if problem:
            raise SandboxUnavailable(problem)
    return Settings(
        float(cell_timeout),
        float(test_timeout),
        float(deadline),
        limits,
        bool(sandbox),
        tuple(str(Path(h).resolve()) for h in hide),
    )


def grade_many(
    submissions,
    keys,
    *,
    jobs=None,
    executor=None,
    cell_timeout=CELL_TIMEOUT,
    test_timeout=TEST_TIMEOUT,
    deadline=DEADLINE,
    limits=None,
    sandbox=True,
    hide=(),
    progress=None,
):
    """Grade every submission; one :class:`GradeResult` each, in the submissions' order.

    Parameters
    ----------
    submissions : list of Submission
    keys : dict of ExerciseKey (see :func:`load_keys`)
    jobs : int, optional
        Local worker processes (default: the number of cores, at most 4). Ignored when
        ``executor`` is given.
    executor : optional
        Where the notebooks are graded: see :mod:`bandit_lab._parallel` (``"inline"``, a
        number of processes, a ``concurrent.futures`` executor, a ``dask.distributed``
        client or a scheduler address). Its workers need ``bwrap`` too.
    cell_timeout, test_timeout, deadline : float
        Seconds one cell, one question's tests and one whole notebook may take.
    limits : Limits, optional
        What one kernel may use (memory, CPU time, file size, processes, /tmp, output).
    sandbox : bool
        ``False`` grades without a sandbox (every result then says so). With ``True`` and
        no sandbox to be had, :class:`SandboxUnavailable` is raised, saying why and the fix.
    hide : list of paths
        Folders the kernels must never see, should they lie inside one the sandbox shows
        (the key, the submissions, the grade sheet and the feedback folders).
    progress : callable, optional
        ``progress(done, total, result)`` after each notebook, in this process.
    """
    import nbformat

    settings = _settings(cell_timeout, test_timeout, deadline, limits, sandbox, hide)
    if executor is None:
        executor = jobs if jobs else min(os.cpu_count() or 1, 4)
    executor = check_executor(executor, name="executor")
    results, pieces, where = [None] * len(submissions), [], []
    for i, (sub, text, problem) in enumerate(read_all(submissions)):  # all read, none run
        nb = None
        if text is not None:
            try:
                nb = nbformat.reads(text, as_version=4)
            except Exception as exc:
                problem = (
                    f"{type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}"
                )
        if nb is None:
            name, _ = identify({}, sub.path, keys)
            r = GradeResult(
                sub.student, sub.path, name, {q: 0.0 for q in keys[name].questions} if name else {}
            )
            r.notes.append(f"{sub.path.name!r} is not a readable notebook ({problem})")
            results[i] = r
            continue
        name, note = identify(nb, sub.path, keys)
        if name is None:
            results[i] = GradeResult(sub.student, sub.path, None, notes=[note])
            continue
        pieces.append(
            Piece(sub.student, sub.path, text, keys[name], settings, [note] if note else [])
        )
        where.append(i)
    for r in results:
        if r is not None and not settings.sandbox:
            r.notes.append(NO_SANDBOX_NOTE)
    done = [sum(r is not None for r in results)]
    if progress:
        for r in results:
            if r is not None:
                progress(done[0], len(submissions), r)

    def finished(j, r):
        done[0] += 1
        if progress:
            progress(done[0], len(submissions), r)

    graded = map_blocks(
        grade_piece, pieces, executor=executor, default="processes", on_result=finished
    )
    for i, r in zip(where, graded):
        results[i] = r
    return results


def grade_notebook_file(
    path,
    key,
    *,
    student="",
    cell_timeout=CELL_TIMEOUT,
    test_timeout=TEST_TIMEOUT,
    deadline=DEADLINE,
    notebook=None,
    limits=None,
    sandbox=True,
):
    """Execute one submitted notebook and grade it against ``key``, here; never raises
    for anything in the notebook.

    Returns a :class:`GradeResult` whose ``scores`` has every question of the exercise
    (0 where nothing was earned) and whose ``notes`` say, one sentence each, what went
    wrong.
    """
    import nbformat

    settings = _settings(cell_timeout, test_timeout, deadline, limits, sandbox, ())
    path = Path(path)
    text = nbformat.writes(notebook) if notebook is not None else path.read_text(encoding="utf-8")
    return grade_piece(Piece(student, path, text, key, settings))
