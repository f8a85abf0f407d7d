"""What every policy shares, whatever its family: one base class.

Every policy of the package (context-free, contextual, non-stationary, multi-objective,
budgeted) derives from :class:`BasePolicy`, which gives it

- **parameters read from the** ``__init__`` **signature** (as scikit-learn does):
  :meth:`~BasePolicy.get_params` returns ``{name: getattr(self, name)}`` for every
  parameter but ``rng``, as plain data, so a new policy writes no ``get_params`` of its own;
  it only keeps each parameter under its own name;
- **its state as named arrays** (``_state_names``, ending in ``_``), built by
  ``initial_state(shape)`` with any leading run axes; :meth:`~BasePolicy.reset` is
  ``initial_state(())`` for every family;
- **one rng rule**: ``rng`` is kept as given (``self.rng``, a parameter, never saved) and
  resolved once into the policy's own stream (``self._rng``), used by ``select``; a
  simulator, which gives every policy a stream spawned from its own ``rng``, refuses a
  policy whose ``rng`` is not None rather than silently ignore it;
- **one state registry**: every subclass is entered by name when it is defined, and
  :meth:`~BasePolicy.from_state` finds the class a saved state names there, or, for a
  class whose module has not been imported yet, in the package's own table of contents
  (``bandit_lab.__all__``, which imports it on first use). No module is imported by name.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, ClassVar

import numpy as np

from . import _state as _saved
from ._rng import RNGLike, resolve_rng

__all__ = ["BasePolicy", "plain"]


def plain(value: Any) -> Any:
    """``value`` as JSON-ready plain data (arrays and tuples become lists)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


class BasePolicy:
    """The base of every policy: parameters, state arrays, reset, rng, saved state.

    A family (a subclass such as :class:`~bandit_lab.Policy`) says how a policy chooses and
    learns; a policy (a subclass of a family) names its state arrays in ``_state_names``,
    builds them in ``initial_state(shape)`` and keeps every ``__init__`` parameter under
    its own name.
    """

    _state_names: ClassVar[tuple[str, ...]] = ()
    _registry: ClassVar[dict[str, type]] = {}
    #: How a simulator runs the policy: "index" (context-free scores), "contextual",
    #: "funnel" (click, purchase, revenue) or "budget".
    family: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            BasePolicy._registry[cls.__name__] = cls
        cls._params_cache = None

    def __init__(self, n_arms: int, *, rng: RNGLike = None) -> None:
        from ._validation import check_int

        self.n_arms = check_int("n_arms", n_arms, minimum=1)
        self.rng = rng
        self._rng = resolve_rng(rng)
        self.reset()

    # -- parameters, from the signature ---------------------------------------------------
    @classmethod
    def _param_names(cls) -> tuple[str, ...]:
        if cls.__dict__.get("_params_cache") is None:
            sig = inspect.signature(cls.__init__)
            skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
            cls._params_cache = tuple(
                p.name
                for p in list(sig.parameters.values())[1:]
                if p.name != "rng" and p.kind not in skip
            )
        return cls._params_cache

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters (every ``__init__`` parameter but ``rng``), as plain data."""
        return {name: plain(getattr(self, name)) for name in self._param_names()}

    # -- state --------------------------------------------------------------------------------
    def initial_state(self, shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
        """Fresh state arrays with leading shape ``shape`` (runs), arms after it."""
        raise NotImplementedError

    def reset(self) -> BasePolicy:
        """Forget everything learned; return ``self``."""
        self._set_state(self.initial_state(()))
        return self

    def _state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._state_names}

    def _set_state(self, state: dict[str, Any]) -> None:
        for name in self._state_names:
            setattr(self, name, state[name])

    # -- choice probabilities ------------------------------------------------------------
    def propensities_of(self, state: dict[str, np.ndarray], *context: Any) -> np.ndarray:
        """Pure: the probability of choosing each arm given ``state``, (..., n_arms)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no known choice probabilities (propensities); a policy "
            "that knows them defines propensities_of(state)."
        )

    def propensities(self, *context: Any) -> np.ndarray:
        """The probability that ``select`` chooses each arm now, shape (n_arms,)."""
        return self.propensities_of(self._state(), *context)

    # -- state as plain data -------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Everything needed to rebuild this policy, as JSON-ready plain data."""
        return _saved.dump(self, self._state())

    def to_json(self) -> str:
        """:meth:`get_state` as JSON text."""
        import json

        return json.dumps(self.get_state())

    @classmethod
    def from_state(cls, state: dict[str, Any] | str | bytes, *, rng: RNGLike = None) -> BasePolicy:
        """Rebuild a policy saved by :meth:`get_state` (or its JSON text); the class it
        names must be ``cls`` or one of its subclasses. Every part is checked first: a
        corrupted record gets an error naming what is wrong, not a policy holding nonsense."""
        state = _saved.open_envelope(state, made_by=cls.__name__)
        target = cls._saved_class(state)
        params = state["params"]
        unknown = sorted(set(params) - set(target._param_names()))
        if unknown:
            raise ValueError(
                f"state['params'] has {unknown}, must hold only the parameters of "
                f"{target.__name__}: {list(target._param_names())}."
            )
        policy = target(**params, rng=rng)
        arrays = _saved.load_arrays(policy, state["state"], target._state_names)
        policy._check_saved(arrays)
        policy._set_state(arrays)
        return policy

    @classmethod
    def _saved_class(cls, state: dict[str, Any]) -> type:
        """The class ``state`` names: ``cls`` or a public subclass of it."""
        name = state["policy"]
        if isinstance(name, str) and name not in BasePolicy._registry:
            package = sys.modules[__name__.rsplit(".", 1)[0]]
            if name in getattr(package, "__all__", ()):
                getattr(package, name)  # the table of contents imports its module
        candidates = {n: c for n, c in BasePolicy._registry.items() if issubclass(c, cls)}
        return _saved.pick_class(state, candidates)

    def _check_saved(self, arrays: dict[str, np.ndarray]) -> None:
        """Hook: refuse saved arrays that are well-formed but impossible for this policy."""

    def __repr__(self) -> str:
        params = self.get_params()
        first = [k for k in ("n_arms", "n_features") if k in params]
        head = [repr(params.pop(k)) for k in first]
        rest = [f"{k}={v!r}" for k, v in params.items()]
        return f"{type(self).__name__}({', '.join(head + rest)})"
