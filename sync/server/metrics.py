"""``GET /metrics``: Prometheus text exposition (format 0.0.4) of the running server.

Process counters (reset when the process restarts; Prometheus handles that):

- ``mar_http_requests_total{route,method,status}`` — ``route`` is the route template
  (``/v1/push``, ``/v1/credentials/{user_id}``), ``unmatched`` for unknown paths, so labels stay
  bounded; ``mar_http_request_duration_seconds{route,method}`` — a latency histogram.
- ``mar_entries_accepted_total``, ``mar_entries_duplicate_total`` (identical re-sends
  acknowledged again), ``mar_entries_rejected_total{reason}`` (the protocol's rejection codes:
  ``fork``, ``gap``, ``bad_signature``…) and ``mar_pushes_total{status}`` — read from the
  receipts of ``/v1/push`` as they leave, so the push code itself is untouched.

Read from the database at scrape time (cheap indexed queries; they survive restarts):

- ``mar_database_up`` 1/0; when 0 the gauges below are left out.
- ``mar_entries_stored{facility_id,chain}``, ``mar_alerts_raised_total{facility_id}`` (every
  ``alert.raised`` entry: forks and clinical reconciliation), ``mar_forks_recorded_total``.
- ``mar_sync_lag_seconds{device_id}`` per enrolled, unrevoked tablet: seconds since the later of
  its last successful push seen by this process and the storing of its newest entry (its
  enrolment if it never synced). Device ids only, never labels or names.

Access (no PHI is exposed, but device ids and volumes are operational data): env
``MAR_METRICS_TOKEN`` — if set, a request must carry ``Authorization: Bearer <token>``;
``MAR_METRICS_ALLOW`` — comma-separated client addresses/networks (CIDR) allowed, or ``any``.
Default: without a token only loopback clients; with a token any address (unless
``MAR_METRICS_ALLOW`` narrows it). The client address is the TCP peer, or, from a trusted
proxy (``MAR_TRUSTED_PROXIES``), the client it names; with a trusted proxy configured the token
is always needed (a request relayed by the proxy would otherwise pass as the proxy's own, and
the proxy may sit on loopback), and without ``MAR_METRICS_TOKEN`` set ``/metrics`` is refused
(403). Refusals: 401 (token missing/wrong), 403 (address not allowed). Threads: the
middleware runs on the event loop; ``/metrics`` runs on a worker thread.
"""

from __future__ import annotations

import dataclasses
import hmac
import ipaddress
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.server import opsdb
from sync.server.core import ServerCore

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PUSH_ROUTE = "/v1/push"
_MAX_RECEIPT = 8 * 1024 * 1024


@dataclass(frozen=True)
class MetricsAccess:
    """Who may read ``/metrics``: ``allow`` None means any address."""

    token: str | None = None
    allow: tuple[Network, ...] | None = LOOPBACK
    token_required: bool = False
    """Set behind a trusted proxy: no token configured means no metrics at all."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> MetricsAccess:
        """Reads ``MAR_METRICS_TOKEN`` / ``MAR_METRICS_ALLOW``. Raises ``ValueError`` for a
        malformed network."""
        env = dict(os.environ) if env is None else env
        token = env.get("MAR_METRICS_TOKEN", "").strip() or None
        spec = env.get("MAR_METRICS_ALLOW", "").strip()
        allow: tuple[Network, ...] | None
        if spec.lower() in {"any", "*"}:
            allow = None
        elif spec:
            allow = tuple(ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(","))
        else:
            allow = None if token else LOOPBACK
        return cls(token, allow)

    def refusal(self, peer: str | None, authorization: str | None) -> tuple[int, str] | None:
        """``(status, detail)`` if the request may not read the metrics, else None."""
        if self.token_required and self.token is None:
            return 403, "metrics behind a proxy need MAR_METRICS_TOKEN set on the server"
        if self.allow is not None:
            try:
                address = ipaddress.ip_address(peer or "")
            except ValueError:
                return 403, "metrics are not served to this address"
            if not any(address in net for net in self.allow):
                return 403, "metrics are not served to this address"
        if self.token is not None:
            scheme, _, given = (authorization or "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                return 401, "metrics need the bearer token (MAR_METRICS_TOKEN)"
        return None


class Metrics:
    """The server's metric registry and the in-process push state. Thread-safe."""

    def __init__(self, core: ServerCore, now: Callable[[], datetime] | None = None) -> None:
        self.core = core
        self.now = now or (lambda: datetime.now(UTC))
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "mar_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "mar_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.accepted = Counter("mar_entries_accepted", "Entries stored by pushes", registry=r)
        self.duplicates = Counter(
            "mar_entries_duplicate", "Identical re-sent entries acknowledged again", registry=r
        )
        self.rejected = Counter(
            "mar_entries_rejected", "Entries refused by pushes", ["reason"], registry=r
        )
        self.pushes = Counter("mar_pushes", "Push requests answered", ["status"], registry=r)
        self._last_push: dict[str, datetime] = {}
        self._lock = threading.Lock()
        r.register(_StoreCollector(self))

    def observe_receipt(self, status: int, body: bytes) -> None:
        """Counts one ``/v1/push`` answer (a signed receipt, or an error without one)."""
        self.pushes.labels(str(status)).inc()
        try:
            receipt = json.loads(body)
            stored = int(receipt["stored"])
            duplicates = int(receipt["duplicates"])
            codes = [str(r["code"]) for r in receipt["rejections"]]
            device_id = str(receipt["device_id"])
        except (ValueError, KeyError, TypeError):
            return  # 400/401/413…: no receipt, nothing about entries to count
        self.accepted.inc(stored)
        self.duplicates.inc(duplicates)
        for code in codes:
            self.rejected.labels(code).inc()
        if status == 200:
            with self._lock:
                self._last_push[device_id] = self.now()

    def last_push(self, device_id: str) -> datetime | None:
        with self._lock:
            return self._last_push.get(device_id)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class _StoreCollector(Collector):
    """Gauges read from the database on each scrape (see the module docstring)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Any]:
        return []  # values come from the database at scrape time only

    def collect(self) -> Iterable[Any]:
        up = GaugeMetricFamily("mar_database_up", "1 if the server database answered the scrape")
        try:
            families = self._from_store()
        except Exception:  # a scrape must not fail because the database is down
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _from_store(self) -> list[Any]:
        store = self.metrics.core.store
        stored = GaugeMetricFamily(
            "mar_entries_stored",
            "Entries held per facility and chain",
            labels=["facility_id", "chain"],
        )
        alerts = CounterMetricFamily(
            "mar_alerts_raised",
            "alert.raised entries held (forks, reconciliation)",
            labels=["facility_id"],
        )
        lag = GaugeMetricFamily(
            "mar_sync_lag_seconds",
            "Seconds since the device last pushed successfully or had an entry stored",
            labels=["device_id"],
        )
        now = self.metrics.now()
        for device in store.devices():
            if device.is_server:
                facility = device.facility_id
                for chain, top in opsdb.feed_tops(store, facility).items():
                    stored.add_metric([facility, chain], top)
                alerts.add_metric(
                    [facility], opsdb.alerts_raised(store, facility, device.device_id)
                )
                continue
            if device.revoked:
                continue
            seen = [_parse_time(device.enrolled_at)]
            last_entry = opsdb.last_stored_at(store, device.device_id)
            if last_entry is not None:
                seen.append(_parse_time(last_entry))
            pushed = self.metrics.last_push(device.device_id)
            if pushed is not None:
                seen.append(pushed)
            lag.add_metric([device.device_id], max(0.0, (now - max(seen)).total_seconds()))
        forks = CounterMetricFamily("mar_forks_recorded", "Distinct forks recorded")
        forks.add_metric([], opsdb.forks_recorded(store))
        return [stored, alerts, forks, lag]


class MetricsMiddleware:
    """Pure ASGI: times and counts every request; reads push receipts (see module doc)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        body: list[bytes] = []
        size = 0
        is_push = False

        async def observing_send(message: Message) -> None:
            nonlocal status, is_push, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
                is_push = _route(scope) == _PUSH_ROUTE
            elif message["type"] == "http.response.body" and is_push:
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= _MAX_RECEIPT:
                    body.append(chunk)
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            route, method = _route(scope), str(scope.get("method", ""))
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)
            if is_push:
                self.metrics.observe_receipt(status, b"".join(body))


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def install(
    app: FastAPI,
    core: ServerCore,
    access: MetricsAccess | None = None,
    *,
    behind_proxy: bool = False,
) -> FastAPI:
    """Adds ``GET /metrics`` and the counting middleware (outermost, so 413s count too).
    ``behind_proxy``: the token is always required (see the module docstring)."""
    metrics = app.state.metrics = Metrics(core)
    rules = access or MetricsAccess.from_env()
    if behind_proxy:
        rules = dataclasses.replace(rules, token_required=True)

    @app.get("/metrics", tags=["meta"], include_in_schema=False)
    def metrics_endpoint(request: Request) -> Response:
        peer = request.client.host if request.client else None
        refused = rules.refusal(peer, request.headers.get("authorization"))
        if refused is not None:
            headers = {"WWW-Authenticate": "Bearer"} if refused[0] == 401 else None
            return JSONResponse({"detail": refused[1]}, status_code=refused[0], headers=headers)
        return Response(metrics.render(), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
