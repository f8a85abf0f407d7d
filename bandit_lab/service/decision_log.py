"""The decision log: logged bandit feedback for off-policy evaluation, as a table.

Every decision the service makes is stored with the probability the policy had of making
it; the reward joins it when it comes. ``GET /bandits/{name}/log`` pages through it as JSON;
:func:`log_frame` and ``bandit-lab export-log`` turn it into a table (CSV or Parquet).

Columns (this is the schema, in this order)
-------------------------------------------
``decision_id``  32 hex digits, the id the service returned
``bandit``       the bandit's name
``time``         when the decision was made: **Unix time in seconds (UTC)**, a float with
                 microseconds (``pandas.to_datetime(df.time, unit="s", utc=True)``)
``arm``          the chosen arm's name
``arm_index``    its index in the bandit's arms (arms added later get the next indices)
``propensity``   P(the policy chooses this arm | its state at that moment, the eligible
                 arms, the context): exact for Beta and linear Thompson sampling (a 1-D
                 integral, :mod:`bandit_lab.propensities`); empty if logging was off
``eligible``     the arms the decision was restricted to, as a JSON list of names; empty
                 when every arm was eligible (the propensity is over the eligible arms)
``reward``       the reward, empty until it comes (and if it never came)
``reward_time``  Unix time in seconds (UTC) of the reward, empty until it comes
``x0`` ... ``x{d-1}``  linear bandits only: the context, one column per feature

Rows are ordered by ``time`` (then ``decision_id``). A decision's time is read as it is
stored and is strictly larger than the bandit's previous one, so the order is the order in
which decisions were stored: a reader that follows the log from its last row's time misses
none stored later. A decision stays in the log for the store's ``retention`` (7 days by
default): export it regularly to keep it longer.
"""
from __future__ import annotations

import json
from pathlib import Path

from .stores import LOG_COLUMNS

__all__ = ["LOG_COLUMNS", "log_rows", "log_frame", "export_log", "main"]


def log_rows(store, name, *, since=None, until=None, page=5000):
    """Every logged decision of ``name`` in ``[since, until)``, as API rows (arm names)."""
    from .routes import log_row

    info = store.info(name)
    if info is None:
        raise ValueError(f"bandit {name!r} is not in the store {store.url}.")
    after = None
    while True:
        got = store.log(name, since=since, until=until, after=after, limit=page)
        for row in got.rows:
            yield log_row(row, info.spec)
        if got.next_after is None:
            return
        after = got.next_after


def log_frame(store, name, *, since=None, until=None):
    """The decision log of ``name`` as a pandas DataFrame with the documented columns."""
    import pandas as pd

    info = store.info(name)
    if info is None:
        raise ValueError(f"bandit {name!r} is not in the store {store.url}.")
    d = getattr(info.spec, "n_features", 0) if info.spec.kind == "linear" else 0
    records = []
    for r in log_rows(store, name, since=since, until=until):
        rec = {c: r[c] for c in LOG_COLUMNS}
        rec["eligible"] = "" if r["eligible"] is None else json.dumps(r["eligible"])
        ctx = r["context"] or [None] * d
        for i in range(d):
            rec[f"x{i}"] = ctx[i]
        records.append(rec)
    columns = list(LOG_COLUMNS) + [f"x{i}" for i in range(d)]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for col in ("time", "propensity", "reward", "reward_time", *columns[len(LOG_COLUMNS):]):
        frame[col] = frame[col].astype(float)
    frame["arm_index"] = frame["arm_index"].astype("int64")
    return frame


def export_log(store, name, path, *, fmt=None, since=None, until=None) -> int:
    """Write the log of ``name`` to ``path`` as CSV or Parquet (``fmt``, or from the
    suffix: ``.parquet``/``.pq`` is Parquet, anything else CSV); returns the row count.

    Parquet needs ``pyarrow`` (not a dependency of bandit-lab: ``pip install pyarrow``)."""
    path = Path(path)
    fmt = fmt or ("parquet" if path.suffix in (".parquet", ".pq") else "csv")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format == {fmt!r}, must be 'csv' or 'parquet'.")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError("Parquet needs the pyarrow package, which is not installed "
                             "(pip install pyarrow); or export as CSV.") from None
    frame = log_frame(store, name, since=since, until=until)
    if fmt == "csv":
        frame.to_csv(path, index=False, float_format="%.17g")
    else:
        frame.to_parquet(path, index=False)
    return len(frame)


#: A retention window (seconds) longer than any log: the export writes every stored row.
EVERY_STORED_ROW = 1e12


def main(argv=None) -> int:
    """``bandit-lab export-log``: write a bandit's decision log to CSV or Parquet."""
    import argparse
    import sys

    from .stores import DEFAULT_STORE_URL, open_store

    p = argparse.ArgumentParser(
        prog="bandit-lab export-log",
        description="Write a bandit's decision log (decision, arm, propensity, context, "
                    "reward) to CSV or Parquet, for off-policy evaluation. Columns: "
                    + ", ".join(LOG_COLUMNS) + " (and x0..x{d-1} for a linear bandit); "
                    "times are Unix seconds (UTC). Every decision the store still holds is "
                    "written, whatever the service's retention window.")
    p.add_argument("output", help="file to write: .csv, or .parquet (needs pyarrow)")
    p.add_argument("--store", default=None,
                   help="sqlite:///path or redis://host:port/db (default: $BANDIT_LAB_STORE or "
                        "sqlite:///bandit-lab-state.sqlite3)")
    p.add_argument("--bandit", default="offers", help="the bandit's name (default offers)")
    p.add_argument("--since", type=float, default=None, help="Unix time: from (inclusive)")
    p.add_argument("--until", type=float, default=None, help="Unix time: before")
    p.add_argument("--format", choices=["csv", "parquet"], default=None,
                   help="default: from the file's suffix")
    args = p.parse_args(argv)
    import os

    if args.since is not None and args.until is not None and args.until < args.since:
        print(f"bandit-lab export-log: --until {args.until!r} is before --since "
              f"{args.since!r}, must be at least --since.", file=sys.stderr)
        return 2

    url = args.store or os.environ.get("BANDIT_LAB_STORE") or DEFAULT_STORE_URL
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else None
    if path and not os.path.isfile(path):  # opening it would create an empty database
        print(f"bandit-lab export-log: the SQLite file {path!r} does not exist (give the "
              "service's store with --store or $BANDIT_LAB_STORE).", file=sys.stderr)
        return 2
    try:
        # every decision still stored: the store's retention window (7 days unless the
        # service was given another) is the service's business, not the export's
        store = open_store(url, retention=EVERY_STORED_ROW)
    except (ValueError, TypeError) as err:
        print(f"bandit-lab export-log: {err}", file=sys.stderr)
        return 2
    try:
        n = export_log(store, args.bandit, args.output, fmt=args.format, since=args.since,
                       until=args.until)
    except (ValueError, OSError) as err:
        print(f"bandit-lab export-log: {err}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"bandit-lab export-log: {n} decisions of bandit {args.bandit!r} written to "
          f"{args.output}")
    return 0
