"""Sync fixtures: a real ``mar-server`` on loopback with real TLS 1.3 (trustme certificates),
on SQLite by default and on PostgreSQL for the tests that ask for ``store_url`` (the server
suite's fixture, reused: it skips with a reason when PostgreSQL is unreachable, fails under CI).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
import uvicorn

from mar_desktop.clock import Clock, SystemClock
from storage.local_store import LocalStore
from sync.engine import SyncEngine
from sync.enroll import enroll
from sync.server import config
from sync.server.app import create_app
from sync.server.core import ServerCore
from sync.server.runner import ThreadServer, start_thread_server, tls13_context, uvicorn_config
from tests.sync.server.conftest import store_url

__all__ = ["store_url"]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def cert_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    path = folder / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(path))
    return path


@dataclass
class Tablet:
    store: LocalStore
    engine: SyncEngine
    data_dir: Path
    key: bytes

    def close(self) -> None:
        self.engine.close()
        self.store.close()


@dataclass
class Site:
    """A running server plus the tablets enrolled with it in this test."""

    core: ServerCore
    facility_id: str
    server: ThreadServer
    ca_pem: str
    db_url: str
    data: Path
    tmp: Path
    tablets: list[Tablet] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def stop_server(self) -> None:
        """Stops serving and closes the server's database (tablets keep their data)."""
        self.server.stop()
        self.core.store.close()

    def code(self) -> str:
        return self.core.make_enrol_code(self.facility_id)

    def tablet(
        self,
        name: str,
        *,
        clock: Clock | None = None,
        url: str | None = None,
        pin: str | None = None,
        push_batch: int = 500,
        page_size: int = 500,
        compare_clocks: bool | None = None,
        snapshots: bool = True,
    ) -> Tablet:
        """Enrols a fresh tablet (new encrypted database under ``tmp/name``). A tablet on a
        test clock compares it with the server's only when asked (``compare_clocks``): test
        clocks jump to dose times while the site's server keeps the real time.
        ``snapshots=False``: bootstraps from the whole feed, as a release before snapshots."""
        key = secrets.token_bytes(32)
        data_dir = self.tmp / name
        store = enroll(
            data_dir,
            key,
            server_url=url or self.url,
            code=self.code(),
            ca_pem=self.ca_pem,
            pin=pin,
            label=name,
            clock=clock,
        )
        engine = SyncEngine(
            store, clock=clock, push_batch=push_batch, page_size=page_size, interval=3600,
            compare_clocks=clock is None if compare_clocks is None else compare_clocks,
            snapshots=snapshots,
        )
        tab = Tablet(store, engine, data_dir, key)
        self.tablets.append(tab)
        return tab

    def reopen(self, tab: Tablet, data_dir: Path, clock: Clock | None = None) -> Tablet:
        store = LocalStore.open(data_dir, tab.key, clock)
        engine = SyncEngine(store, clock=clock, interval=3600, compare_clocks=clock is None)
        new = Tablet(store, engine, data_dir, tab.key)
        self.tablets.append(new)
        return new


def start_site(
    tmp: Path, db_url: str, cert: Path, ca: trustme.CA, clock: Clock | None = None
) -> Site:
    data = tmp / "server-data"
    store = config.open_store(db_url)
    store.migrate()
    core = ServerCore(store, config.create_server_key(data), clock or SystemClock())
    facility_id, _ = core.create_facility("Maple House", "America/Chicago")
    server = start_thread_server(create_app(core), ssl_context=tls13_context(cert, cert))
    return Site(core, facility_id, server, ca.cert_pem.bytes().decode(), db_url, data, tmp)


def restart_site(
    site: Site, cert: Path, clock: Clock | None = None, *, oldest_tablet: str | None = None
) -> None:
    """A new server process-equivalent over the same database and key, on the SAME address
    (the tablets know its URL). Stop the old one first (:meth:`Site.stop_server`).
    ``oldest_tablet``: the oldest tablet app version the new server accepts."""
    store = config.open_store(site.db_url)
    store.migrate()
    core = ServerCore(store, config.load_server_key(site.data), clock or SystemClock())
    port = site.server.port
    server = uvicorn.Server(
        uvicorn_config(
            create_app(core, **({"oldest_tablet": oldest_tablet} if oldest_tablet else {})),
            ssl_context=tls13_context(cert, cert),
            host="127.0.0.1",
            port=port,
        )
    )
    thread = threading.Thread(target=server.run, name="mar-server-restarted", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not restart"
        time.sleep(0.01)
    site.core, site.server = core, ThreadServer(server, thread, "127.0.0.1", port, True)


def stop_site(site: Site) -> None:
    for tab in site.tablets:
        tab.close()
    site.server.stop()
    site.core.store.close()


@pytest.fixture
def site(tmp_path: Path, cert_files: Path, ca: trustme.CA) -> Iterator[Site]:
    built = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    yield built
    stop_site(built)


SiteFactory = Callable[[str], Site]
