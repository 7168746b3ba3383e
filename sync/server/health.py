"""``GET /health``: liveness and database reachability, for load balancers and monitoring.

200 ``{"status": "ok", "database": "ok", "protocol": 1}`` when the process answers AND a cheap
query (the schema version) succeeds within ``timeout`` seconds (default 2, env
``MAR_HEALTH_TIMEOUT``); otherwise 503 ``{"status": "unavailable", "database": REASON, ...}``
where REASON is ``"unreachable"`` (the query failed) or ``"timeout"``. No authentication and no
PHI: nothing about facilities, devices or entries is returned, and the reason never carries a
DSN, path or driver message.

Threads: the probe runs on one dedicated worker thread so a hung database never ties up the
request threads: while an earlier probe is still stuck, new requests wait for that same probe
(up to ``timeout``) instead of queueing another one.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from sync import protocol as p
from sync.server import opsdb
from sync.server.core import ServerCore

DEFAULT_TIMEOUT = 2.0


class HealthReport(BaseModel):
    """What ``/health`` answers (also the 503 body)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable", "timeout"]
    protocol: int = p.PROTOCOL_VERSION


class HealthProbe:
    """Checks the database with a bounded wait (see the module docstring)."""

    def __init__(self, core: ServerCore, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.core = core
        self.timeout = timeout
        self._pool: ThreadPoolExecutor | None = None  # started by the first check
        self._lock = threading.Lock()
        self._pending: Future[int] | None = None

    def _query(self) -> int:
        return opsdb.schema_version(self.core.store)

    def check(self) -> HealthReport:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="mar-health")
                self._pending = None
            if self._pending is None or self._pending.done():
                self._pending = self._pool.submit(self._query)
            pending = self._pending
        try:
            pending.result(timeout=self.timeout)
        except FutureTimeout:
            return HealthReport(status="unavailable", database="timeout")
        except Exception:  # any failure is "unreachable": /health must never answer 500
            return HealthReport(status="unavailable", database="unreachable")
        return HealthReport(status="ok", database="ok")

    def close(self) -> None:
        """Ends the worker thread without waiting for a stuck probe. A later check (the same
        app served again, as test clients do) starts a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def timeout_from_env() -> float:
    try:
        value = float(os.environ.get("MAR_HEALTH_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def install(app: FastAPI, core: ServerCore, timeout: float | None = None) -> HealthProbe:
    """Registers ``GET /health`` on ``app`` (call once, from ``create_app``); the probe's
    worker thread is shut down when the application shuts down."""
    probe = HealthProbe(core, timeout_from_env() if timeout is None else timeout)
    app.state.health = probe
    app.router.on_shutdown.append(probe.close)

    @app.get(
        "/health",
        response_model=HealthReport,
        tags=["meta"],
        responses={503: {"model": HealthReport, "description": "database not reachable"}},
    )
    def health() -> JSONResponse:
        report = probe.check()
        code = 200 if report.status == "ok" else 503
        return JSONResponse(report.model_dump(), status_code=code)

    return probe
