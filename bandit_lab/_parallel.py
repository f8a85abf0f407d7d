"""Where independent pieces of work run: one ``executor`` option for the whole package.

Work that splits into independent pieces (blocks of simulation runs, the submissions of a
batch grade) goes through :func:`map_blocks`. Its ``executor`` argument says where:

``None``
    the caller's default: ``"inline"`` for a simulation (vectorised, in the calling
    process, nothing pickled: fast in a notebook), ``"processes"`` for a batch grade;
``"inline"``
    one piece after another in the calling process;
``"processes"`` or an int ``n``
    a pool of local worker processes (``n`` of them; ``"processes"``: one per core),
    started fresh (``spawn``), closed when the work is done;
a :class:`concurrent.futures.Executor`
    any executor the caller made (a process pool, a thread pool, ...), left open;
a ``dask.distributed.Client``
    the cluster the client is connected to (its workers must be able to import
    ``bandit_lab``);
a string ``"tcp://host:port"`` (or any other scheduler address)
    a ``dask.distributed`` scheduler: a client is connected for the call and closed after.

Results come back in the order of the pieces, whichever executor ran them and however
many workers it has; randomness must therefore travel *with* each piece (a seed sequence
spawned per piece, never per worker), which is the caller's rule to keep.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["map_blocks", "describe_executor", "check_executor"]

T = TypeVar("T")
R = TypeVar("R")

_NAMED = ("inline", "processes")


def check_executor(executor: Any, *, name: str = "executor") -> Any:
    """Return ``executor`` if it is one :func:`map_blocks` understands, else raise.

    The error names the parameter, the value and what is allowed.
    """
    if executor is None or isinstance(executor, Executor):
        return executor
    if isinstance(executor, bool):
        pass  # a bool is an int to Python, not a worker count to us
    elif isinstance(executor, int):
        if executor < 1:
            raise ValueError(f"{name} == {executor}, must be a number of worker processes >= 1.")
        return executor
    elif isinstance(executor, str):
        if executor in _NAMED or "://" in executor:
            return executor
        raise ValueError(f"{name} == {executor!r}, must be 'inline', 'processes', a number of "
                         "worker processes, a concurrent.futures executor, a dask.distributed "
                         "Client or a scheduler address such as 'tcp://127.0.0.1:8786'.")
    elif _is_dask_client(executor):
        return executor
    raise TypeError(f"{name} == {executor!r} is of type {type(executor).__name__}, must be None, "
                    "'inline', 'processes', a number of worker processes, a concurrent.futures "
                    "executor, a dask.distributed Client or a scheduler address.")


def _is_dask_client(obj: Any) -> bool:
    cls = type(obj)
    return cls.__name__ == "Client" and cls.__module__.startswith("distributed") and hasattr(
        obj, "get_executor")


def describe_executor(executor: Any) -> str:
    """A few words on where work runs, for progress lines and notes."""
    if executor is None or executor == "inline":
        return "in this process"
    if executor == "processes":
        return f"{os.cpu_count() or 1} local worker processes"
    if isinstance(executor, int) and not isinstance(executor, bool):
        return f"{executor} local worker process{'es' if executor != 1 else ''}"
    if isinstance(executor, str):
        return f"the dask scheduler at {executor}"
    if _is_dask_client(executor):
        return f"the dask cluster of {executor!r}"
    return f"{type(executor).__name__}"


def map_blocks(fn: Callable[[T], R], items: Iterable[T], *, executor: Any = None,
               default: str = "inline", max_workers: int | None = None,
               on_result: Callable[[int, R], None] | None = None) -> list[R]:
    """``[fn(item) for item in items]``, run where ``executor`` says, in the items' order.

    Parameters
    ----------
    fn : callable
        A function of one piece. For anything but ``"inline"`` it must be picklable (a
        module-level function, or a :func:`functools.partial` of one), and so must the
        pieces and the results.
    items : iterable
        The pieces.
    executor : see the module docstring
    default : {"inline", "processes"}
        What ``executor=None`` means for this caller.
    max_workers : int, optional
        For ``"processes"``: how many worker processes (default: one per core, at most
        the number of pieces).
    on_result : callable, optional
        Called as ``on_result(index, result)`` as each piece finishes (in finishing order),
        in the calling process: a progress bar's hook.

    Returns
    -------
    list
        ``fn(item)`` for every item, in the items' order. The first exception a piece
        raised is raised here, after the other pieces were cancelled or finished.

    Examples
    --------
    >>> map_blocks(abs, [-1, 2, -3])
    [1, 2, 3]
    >>> map_blocks(abs, [-1, 2, -3], executor=1)
    [1, 2, 3]
    """
    executor = check_executor(executor)
    if default not in _NAMED:
        raise ValueError(f"default == {default!r}, must be 'inline' or 'processes'.")
    items = list(items)
    if executor is None:
        executor = default
    if executor == "inline" or not items:
        out = []
        for i, item in enumerate(items):
            out.append(fn(item))
            if on_result is not None:
                on_result(i, out[-1])
        return out
    if executor == "processes" or isinstance(executor, int):
        n = executor if isinstance(executor, int) else (max_workers or os.cpu_count() or 1)
        n = max(1, min(n, len(items)))
        import multiprocessing

        with ProcessPoolExecutor(max_workers=n,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            return _run_on(pool, fn, items, on_result)
    if isinstance(executor, str):
        from distributed import Client

        with Client(executor) as client:
            return _run_on(client.get_executor(pure=False), fn, items, on_result)
    if _is_dask_client(executor):
        return _run_on(executor.get_executor(pure=False), fn, items, on_result)
    return _run_on(executor, fn, items, on_result)


def _run_on(pool: Executor, fn: Callable[[T], R], items: Sequence[T],
            on_result: Callable[[int, R], None] | None) -> list[R]:
    from concurrent.futures import as_completed

    futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
    out: list[Any] = [None] * len(items)
    try:
        for fut in as_completed(futures):
            i = futures[fut]
            out[i] = fut.result()
            if on_result is not None:
                on_result(i, out[i])
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    return out
