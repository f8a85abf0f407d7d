"""The service's configuration file (TOML): service options and the bandits to serve.

``bandit-lab serve --config bandit-lab.toml``::

    [service]
    store = "sqlite:///bandit-lab-state.sqlite3"   # or redis://host:6379/0
    host = "127.0.0.1"
    port = 8000
    default = "offers"          # the bandit of /decision, /reward, /stats, /timeline
    ttl = 86400                 # seconds a decision accepts its reward
    retention = 604800          # seconds a decision stays in the log (>= ttl)
    timeline_retention = 2678400
    propensity = "exact"        # or "monte-carlo", "off"
    api_keys_file = "keys.txt"  # relative to this file's folder; see bandit_lab.service.auth
    max_body = 1048576
    access_log = true
    seed = 2024

    [bandits.offers]
    kind = "beta"
    arms = ["cashback", "travel", { name = "premium", alpha0 = 1, beta0 = 20 }]
    alpha0 = 2                  # the prior of every arm without its own
    beta0 = 40
    bucket_seconds = 60

    [bandits.personal]
    kind = "linear"
    arms = ["cashback", "travel"]
    n_features = 3
    feature_names = ["age", "income", "tenure"]

Every bandit of the file is created at start if the store does not hold it, and checked
against the stored spec if it does (a different prior or arm list is refused; arms added
since through the admin API are kept). Bandits created through the admin API need not be in
the file. Options given on the command line override the file's.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from .models import BetaSpec, LinearSpec, _short
from .stores import check_bandit_name

__all__ = ["ServiceConfig", "load_config", "parse_config", "SERVICE_OPTIONS"]

#: The options of the [service] table and their types.
SERVICE_OPTIONS = {"store": str, "host": str, "port": int, "default": str, "ttl": float,
                   "retention": float, "timeline_retention": float, "propensity": str,
                   "api_keys_file": str, "max_body": int, "access_log": bool, "seed": int,
                   "store_calls": str, "log_level": str}

_BETA = {"kind", "arms", "alpha0", "beta0", "binary", "bucket_seconds"}
_LINEAR = {"kind", "arms", "n_features", "prior_var", "noise_var", "binary", "bucket_seconds",
           "feature_names"}


@dataclass
class ServiceConfig:
    service: dict = field(default_factory=dict)
    bandits: dict = field(default_factory=dict)   # name -> spec, in the file's order


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib


def load_config(path) -> ServiceConfig:
    """Read and check a TOML configuration file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ValueError(f"config file {str(path)!r} cannot be read: {err.strerror}.") from None
    try:
        data = _toml().loads(text)
    except Exception as err:  # tomllib.TOMLDecodeError
        raise ValueError(f"config file {str(path)!r} is not valid TOML: {err}.") from None
    config = parse_config(data, str(path))
    keys = config.service.get("api_keys_file")
    if keys is not None and not Path(keys).is_absolute():
        # next to the config file, wherever the service is started from
        config.service["api_keys_file"] = str(path.parent / keys)
    return config


def _arms(name, entries, kind):
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"bandits.{name}.arms == {_short(entries)}, must be a non-empty list of "
                         "arm names (or {name = ..., <prior>} tables).")
    names, priors = [], []
    for i, a in enumerate(entries):
        if isinstance(a, str):
            names.append(a)
            priors.append({})
        elif isinstance(a, dict) and isinstance(a.get("name"), str):
            allowed = {"name", "alpha0", "beta0"} if kind == "beta" else {"name", "prior_var"}
            extra = set(a) - allowed
            if extra:
                raise ValueError(f"bandits.{name}.arms[{i}] has {sorted(extra)[0]!r}, an arm of a "
                                 f"{kind} bandit takes only {sorted(allowed)}.")
            names.append(a["name"])
            priors.append({k: v for k, v in a.items() if k != "name"})
        else:
            raise ValueError(f"bandits.{name}.arms[{i}] == {_short(a)}, must be a name or a "
                             "table with a name.")
    return names, priors


def spec_from_table(name, table):
    """A spec from one ``[bandits.NAME]`` table."""
    if not isinstance(table, dict):
        raise ValueError(f"bandits.{name} must be a table.")
    kind = table.get("kind", "beta")
    allowed = _BETA if kind == "beta" else _LINEAR if kind == "linear" else None
    if allowed is None:
        raise ValueError(f"bandits.{name}.kind == {_short(kind)}, must be 'beta' or 'linear'.")
    extra = sorted(set(table) - allowed)
    if extra:
        raise ValueError(f"bandits.{name}.{extra[0]} is not an option of a {kind} bandit; the "
                         f"options are {sorted(allowed)}.")
    names, priors = _arms(name, table.get("arms"), kind)
    opts = {k: v for k, v in table.items() if k not in ("kind", "arms")}
    if kind == "beta":
        a0, b0 = opts.get("alpha0", 1.0), opts.get("beta0", 1.0)
        arm_priors = tuple((p.get("alpha0", a0), p.get("beta0", b0)) for p in priors)
        return BetaSpec(tuple(names), arm_priors=arm_priors, **opts)
    if "feature_names" in opts:
        opts["feature_names"] = tuple(opts["feature_names"])
    pv0 = opts.get("prior_var", 1.0)
    return LinearSpec(tuple(names), arm_prior_vars=tuple(p.get("prior_var", pv0)
                                                         for p in priors), **opts)


def parse_config(data: dict, source="config") -> ServiceConfig:
    extra = sorted(set(data) - {"service", "bandits"})
    if extra:
        raise ValueError(f"{source}: table [{extra[0]}] is not known; the file has [service] and "
                         "[bandits.NAME] tables.")
    service = dict(data.get("service", {}))
    for key, value in service.items():
        kind = SERVICE_OPTIONS.get(key)
        if kind is None:
            raise ValueError(f"{source}: service.{key} is not an option; the options are "
                             f"{sorted(SERVICE_OPTIONS)}.")
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, service[key] = True, float(value)
        if not ok:
            raise ValueError(f"{source}: service.{key} == {_short(value)}, must be of type "
                             f"{kind.__name__}.")
    bandits = {}
    for name, table in data.get("bandits", {}).items():
        check_bandit_name(name)
        try:
            bandits[name] = spec_from_table(name, table)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: {err}") from None
    default = service.get("default")
    if default is not None and bandits and default not in bandits:
        raise ValueError(f"{source}: service.default == {default!r}, must be one of the "
                         f"bandits of the file {sorted(bandits)} (or left out).")
    return ServiceConfig(service, bandits)
