"""Operating the service: metrics, access logs, request limits, keys, retention.

:class:`OpsMiddleware` wraps every request (a plain ASGI middleware, one layer):

* refuses a body larger than ``max_body`` bytes with 413, from its ``Content-Length`` or
  while it streams in, before anything parses it;
* checks the API key when the service has keys (``/health``, ``/ready``, the schema and the
  docs are open; ``/admin/...`` needs the admin scope; the rest any key);
* times the request into ``bandit_http_request_seconds`` and counts it;
* writes one JSON line to the ``bandit_lab.service.access`` logger;
* turns anything a handler let escape into a JSON 500 (the traceback goes to the log),
  never a plain-text page or a dropped connection.

:class:`Metrics` holds the Prometheus metrics of one app in a registry of its own.
"""
from __future__ import annotations

import json
import logging
import time

from .errors import error_response

__all__ = ["Metrics", "OpsMiddleware", "OPEN_PATHS", "DEFAULT_MAX_BODY"]

access_log = logging.getLogger("bandit_lab.service.access")
log = logging.getLogger("bandit_lab.service")

#: Largest request body accepted (bytes): 1 MiB, above the largest body the schema allows
#: (100 arm names of 200 characters, 256 features).
DEFAULT_MAX_BODY = 1_048_576
OPEN_PATHS = ("/health", "/ready", "/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect")

#: HTTP methods counted under their own name in the metrics; any other is "other" (a
#: client inventing methods must not grow the metrics without bound).
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The service's Prometheus metrics (``GET /metrics``)."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = r = CollectorRegistry(auto_describe=True)
        self.decisions = Counter("bandit_decisions", "Decisions made, per bandit and arm",
                                 ["bandit", "arm"], registry=r)
        self.rewards = Counter("bandit_rewards", "Rewards received, per bandit, arm and "
                               "result (recorded, or duplicate: a retry counted once)",
                               ["bandit", "arm", "result"], registry=r)
        self.reward_sum = Counter("bandit_reward_sum", "Sum of the recorded rewards (the "
                                  "conversions), per bandit and arm", ["bandit", "arm"],
                                  registry=r)
        self.decision_seconds = Histogram("bandit_decision_seconds", "Time a decision takes "
                                          "inside the service (store read, draw, propensity, "
                                          "store write)", ["bandit"],
                                          buckets=_LATENCY_BUCKETS, registry=r)
        self.requests = Counter("bandit_http_requests", "HTTP requests, per route and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("bandit_http_request_seconds", "HTTP request latency inside "
                                 "the service, per route", ["method", "route"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.store_errors = Counter("bandit_store_errors", "Store calls that failed (the "
                                    "store did not answer), per store and operation",
                                    ["store", "operation"], registry=r)
        self.refused = Counter("bandit_refused_requests", "Requests refused before a "
                               "handler ran: body too large, missing or wrong key",
                               ["reason"], registry=r)

    def track(self, bandit, arms):
        """Export the counters of every arm of ``bandit`` from 0: a series that appeared
        only at its first event would hide an arm never chosen from ``rate()`` and alerts."""
        for arm in arms:
            self.decisions.labels(bandit, arm)
            self.rewards.labels(bandit, arm, "recorded")
            self.reward_sum.labels(bandit, arm)
        self.decision_seconds.labels(bandit)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _TooLarge(Exception):
    pass


class OpsMiddleware:
    """See the module docstring."""

    def __init__(self, app, *, metrics: Metrics, max_body=DEFAULT_MAX_BODY, keys=None,
                 access=True):
        self.app = app
        self.metrics = metrics
        self.max_body = int(max_body)
        # decided once: a key set that becomes empty (a rotated file caught empty) refuses
        # every request, it never switches the checks off
        self.keys = keys if keys is not None and keys.configured else None
        self.access = access

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        path = scope.get("path", "")
        method = scope.get("method", "")
        status = [0]
        scope_name = [None]

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        async def refuse(code, message, reason, headers=None):
            self.metrics.refused.labels(reason).inc()
            status[0] = code
            await error_response(code, message, None, headers)(scope, receive, send)

        try:
            length = self._content_length(scope)
            if length is not None and length > self.max_body:
                await refuse(413, f"the body has {length} bytes, must have at most "
                                  f"{self.max_body}.", "too_large")
                return
            if self.keys is not None and not path.startswith(OPEN_PATHS):
                scope_name[0] = self.keys.scope_of(self._header(scope, b"authorization"))
                if scope_name[0] is None:
                    await refuse(401, "a valid API key is required: send Authorization: "
                                      "Bearer KEY.", "no_key",
                                 {"WWW-Authenticate": 'Bearer realm="bandit-lab"'})
                    return
                if path.startswith("/admin") and scope_name[0] != "admin":
                    await refuse(403, "this key has scope 'client'; the admin API needs a key "
                                      "of scope 'admin'.", "scope")
                    return
            received = [0]

            async def receive_limited():
                message = await receive()
                if message["type"] == "http.request":
                    received[0] += len(message.get("body", b""))
                    if received[0] > self.max_body:
                        raise _TooLarge()
                return message

            await self.app(scope, receive_limited, send_wrapper)
        except _TooLarge:
            if status[0] == 0:
                await refuse(413, f"the body has more than {self.max_body} bytes, must have "
                                  f"at most {self.max_body}.", "too_large")
        except Exception:  # a bug: answer JSON, keep the connection, log the traceback
            log.exception("unhandled error in %s %s", method, path)
            if status[0] == 0:
                status[0] = 500
                await error_response(500, "the service failed on this request (its log has "
                                          "the details); it is not your input.")(
                    scope, receive, send)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            label = method if method in _METHODS else "other"
            self.metrics.requests.labels(label, template, str(status[0])).inc()
            self.metrics.latency.labels(label, template).observe(elapsed)
            if self.access and access_log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("", 0)
                access_log.info(json.dumps({
                    "time": round(time.time(), 6), "method": method[:20], "path": path[:200],
                    "route": template, "status": status[0],
                    "ms": round(elapsed * 1e3, 3), "client": client[0],
                    "key_scope": scope_name[0]}))

    @staticmethod
    def _header(scope, name):
        for key, value in scope.get("headers", ()):
            if key == name:
                return value.decode("latin-1")
        return None

    def _content_length(self, scope):
        value = self._header(scope, b"content-length")
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            return None
