"""API keys: bearer tokens with a scope, compared in constant time.

Keys come from a file (``--api-keys FILE``, ``api_keys_file`` in the config) and/or the
environment variable ``BANDIT_LAB_API_KEYS``. One key per line in the file (entries
separated by commas or newlines in the variable)::

    # comments and blank lines are ignored
    3f9c...e1            <- scope "client": decisions, rewards, stats, timeline, log, metrics
    77ab...0c admin      <- scope "admin": all of the above and the admin API

Several keys may be valid at once, which is how keys are rotated: add the new one, move
the callers, remove the old one. The file is read again when it changes (checked at most
once a second), so rotation needs no restart. A client sends ``Authorization: Bearer KEY``.
Once a service has keys it keeps requiring one: a key file emptied (or caught half-written)
leaves no valid key, so every request is refused until keys are back, never served open.

Keys are kept only as SHA-256 digests and every presented key is compared with every
stored digest by :func:`hmac.compare_digest`, so the time taken does not depend on how much
of a key matched. Keys must be at least 16 characters; ``bandit-lab serve --new-key``
prints a fresh one (``secrets.token_urlsafe(32)``).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

__all__ = ["ApiKeys", "new_key", "ENV_VAR", "SCOPES"]

ENV_VAR = "BANDIT_LAB_API_KEYS"
SCOPES = ("client", "admin")
MIN_LENGTH = 16


def new_key() -> str:
    """A fresh API key: 43 URL-safe characters (256 random bits)."""
    return secrets.token_urlsafe(32)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def _parse(text, source):
    keys = []
    for n, line in enumerate(text.replace(",", "\n").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        key, scope = parts[0], (parts[1] if len(parts) > 1 else "client")
        if len(parts) > 2 or scope not in SCOPES:
            raise ValueError(f"{source}, entry {n}: must be 'KEY' or 'KEY admin', got a line "
                             f"of {len(parts)} words ending in {parts[-1][:12]!r}.")
        if len(key) < MIN_LENGTH:
            raise ValueError(f"{source}, entry {n}: a key of {len(key)} characters, must have at "
                             f"least {MIN_LENGTH} (bandit-lab serve --new-key makes one).")
        keys.append((_digest(key), scope))
    return keys


class ApiKeys:
    """The valid keys of a service; ``scope_of(header)`` says what a request may do."""

    def __init__(self, file=None, env=None, *, extra=(), recheck=1.0):
        self.file = None if file is None else Path(file)
        self.env_text = os.environ.get(ENV_VAR, "") if env is None else env
        self.extra = list(extra)
        self.recheck = float(recheck)
        self._mtime = None
        self._checked = 0.0
        self._keys = []
        self._load()

    def _load(self):
        keys = list(self.extra)
        if self.env_text.strip():
            keys += _parse(self.env_text, ENV_VAR)
        if self.file is not None:
            try:
                self._mtime = self.file.stat().st_mtime_ns
                keys += _parse(self.file.read_text(), str(self.file))
            except FileNotFoundError:
                raise ValueError(f"api keys file {str(self.file)!r} does not exist.") from None
        self._keys = keys

    @classmethod
    def from_keys(cls, keys):
        """From ``[(key, scope), ...]`` (tests, notebooks)."""
        return cls(env="", extra=[(_digest(k), s) for k, s in keys])

    @property
    def configured(self) -> bool:
        """Keys were asked for (a file, the environment variable, or keys given): requests
        then need a valid key, even while the set of valid keys is empty."""
        return self.file is not None or bool(self.env_text.strip()) or bool(self.extra)

    def __bool__(self):
        return bool(self._keys)

    def __len__(self):
        return len(self._keys)

    def _maybe_reload(self):
        if self.file is None:
            return
        now = time.monotonic()
        if now - self._checked < self.recheck:
            return
        self._checked = now
        try:
            mtime = self.file.stat().st_mtime_ns
            if mtime != self._mtime:
                self._load()
        except (OSError, ValueError):  # a half-written file: keep the keys we have
            pass

    def scope_of(self, authorization: str | None) -> str | None:
        """The scope of the key in an ``Authorization: Bearer KEY`` header, or None."""
        self._maybe_reload()
        if not authorization:
            return None
        kind, _, key = authorization.partition(" ")
        if kind.lower() != "bearer" or not key.strip():
            return None
        presented = _digest(key.strip())
        found = None
        for digest, scope in self._keys:  # no early exit: every key is compared
            if hmac.compare_digest(presented, digest) and found != "admin":
                found = scope
        return found
