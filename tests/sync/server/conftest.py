"""Server test fixtures: every test that asks for ``store_url`` runs on SQLite AND PostgreSQL.

PostgreSQL: ``MAR_TEST_PG_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``). Each
test gets its own schema (created and dropped here), so pytest-xdist workers never collide. If
the server is unreachable the PostgreSQL variants skip, except when ``CI`` is set: then they
fail, because CI must test PostgreSQL for real.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from mar_desktop.clock import FakeClock
from sync.server import config
from sync.server.app import create_app
from sync.server.auth import Authenticator
from sync.server.core import ServerCore
from sync.server.simtablet import SimTablet
from sync.server.store import Store

PG_DSN = os.environ.get("MAR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin() -> object:
    import psycopg

    try:
        return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        reason = f"PostgreSQL not reachable at MAR_TEST_PG_DSN ({type(exc).__name__})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so PostgreSQL tests must run")
        pytest.skip(reason)


def pg_schema_dsn(schema: str) -> str:
    sep = "&" if "?" in PG_DSN else "?"
    return f"{PG_DSN}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """The DSN of a new, empty PostgreSQL schema, dropped on exit (skips or fails as above)."""
    admin = _pg_admin()
    schema = f"mar_t_{uuid.uuid4().hex[:16]}"
    admin.execute(f"CREATE SCHEMA {schema}")  # type: ignore[attr-defined]
    try:
        yield pg_schema_dsn(schema)
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[attr-defined]
        admin.close()  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "server.sqlite3")
        return
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL-only store URL (for what only the PostgreSQL dialect has)."""
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class Server:
    core: ServerCore
    client: TestClient
    facility_id: str
    data: Path

    def tablet(self, facility_id: str | None = None, label: str = "cart") -> SimTablet:
        """A freshly enrolled and authenticated tablet of the facility."""
        tab = SimTablet(self.client)
        tab.enroll(self.core.make_enrol_code(facility_id or self.facility_id), label)
        tab.authenticate()
        return tab

    @property
    def store(self) -> Store:
        return self.core.store


@pytest.fixture
def server(store_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Server]:
    data = tmp_path / "data"
    store = config.open_store(store_url)
    store.migrate()
    core = ServerCore(store, config.create_server_key(data), clock)
    # The FakeClock drives code expiry and tokens; wall time stamps are irrelevant here.
    facility_id, _ = core.create_facility("Maple House", "America/Chicago")
    app = create_app(core, auth=Authenticator(core.store, clock=clock), max_body=4 * 1024 * 1024)
    with TestClient(app, base_url="https://testserver") as client:
        yield Server(core, client, facility_id, data)
    store.close()
