"""The background engine stops promptly at any moment — mid-request, mid-backoff — and leaves no
thread behind. The one timed assertion of the sync suite (the 1 s bound) is on ``stop()``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from sync.backoff import Backoff
from sync.client import ServerClient
from sync.engine import SyncEngine
from tests.sync.conftest import Site
from tests.sync.faultproxy import FaultProxy, Faults

PROMPT = 1.0


def _wait_for(what: Callable[[], bool], limit: float = 30.0) -> None:
    """Waits until ``what`` holds (a bound against a hung test, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not what():
        assert time.monotonic() < deadline, "the engine never got there"
        time.sleep(0.01)


def _stop_promptly(engine: SyncEngine) -> None:
    started = time.monotonic()
    assert engine.stop(timeout=5.0)
    assert time.monotonic() - started < PROMPT
    assert engine.status.current.state == "stopped"


def _no_new_threads(before: set[threading.Thread]) -> None:
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == [], [t.name for t in left]


def test_stop_mid_request_returns_promptly_and_leaves_no_thread(site: Site) -> None:
    tab = site.tablet("slow-network")
    before = set(threading.enumerate())
    # Every chunk the proxy forwards waits 60 s: the engine's first request hangs mid-flight.
    proxy = FaultProxy(
        ("127.0.0.1", site.server.port),
        faults=Faults(
            drop_request=0.0, delay=1.0, max_delay=60.0, reset_response=0.0, truncate_response=0.0
        ),
    )
    engine = SyncEngine(
        tab.store,
        client_maker=lambda i: ServerClient(proxy.url, ca_pem=i.ca_pem),
        interval=3600,
    )
    try:
        engine.start()
        _wait_for(lambda: proxy.counts["delay"] >= 1)  # a request is held in the proxy
        assert engine.status.current.state == "syncing"
        _stop_promptly(engine)
    finally:
        engine.close()
        proxy.close()
    _no_new_threads(before)


def test_stop_mid_backoff_returns_promptly_and_leaves_no_thread(site: Site) -> None:
    tab = site.tablet("no-network")
    with socket.socket() as probe:  # a loopback port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    before = set(threading.enumerate())
    engine = SyncEngine(
        tab.store,
        client_maker=lambda i: ServerClient(f"https://127.0.0.1:{dead}", ca_pem=i.ca_pem),
        interval=3600,
        backoff=Backoff(base=120.0, cap=600.0),
    )
    try:
        engine.start()
        _wait_for(lambda: engine.status.current.next_attempt_in is not None)
        status = engine.status.current
        assert status.state == "offline" and status.next_attempt_in is not None
        assert status.next_attempt_in >= 60.0  # waiting in the backoff now
        _stop_promptly(engine)
    finally:
        engine.close()
    _no_new_threads(before)


def test_start_stop_start_again_syncs(site: Site) -> None:
    tab = site.tablet("restartable")
    engine = tab.engine
    engine.start()
    engine.start()  # idempotent
    _wait_for(lambda: engine.status.current.state == "online")
    _stop_promptly(engine)
    engine.start()
    engine.request_sync()
    _wait_for(lambda: engine.status.current.state in ("online", "syncing"))
    _stop_promptly(engine)
    assert not any(t.name == "mar-sync" for t in threading.enumerate())


def test_only_a_scheduled_retry_is_promised_in_the_status() -> None:
    from mar_desktop.sync_status import SyncStatus

    failed = SyncStatus(state="offline", last_error="The server could not be reached.")
    assert "again" not in failed.summary().lower()
    scheduled = SyncStatus(
        state="offline", last_error="The server could not be reached.", next_attempt_in=29.6
    )
    assert scheduled.summary().endswith("The server could not be reached. Trying again in 30 s.")
