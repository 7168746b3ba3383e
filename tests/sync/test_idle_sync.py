"""An idle sync: nothing new on either side. It must be a constant, small exchange that writes
nothing to the tablet's database (no chain entry, no cursor), sync after sync; a real server
restore is still detected (tests/sync/test_recovery.py). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import trustme

from storage.database import Connection
from sync.client import ServerClient
from sync.engine import SyncEngine, SyncReport, default_client
from sync.server.verify import verify_store as server_verify
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import cart, ledger_rows, seed

IDLE_REQUESTS = 7
"""Sign-in (challenge, token), cursor, device keys, the feed position check, one feed page,
one credentials page, and nothing else: no push, no audit entry."""
IDLE_BYTES = 16 * 1024


def _data_version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def test_idle_syncs_are_constant_small_and_write_nothing(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    site = start_site(tmp_path, store_url, cert_files, ca)
    try:
        a = cart(site, "cart-a")
        seed(a)
        a.tab.engine.sync_once()
        b = site.tablet("cart-b")
        clients: list[ServerClient] = []

        def counted(info: object) -> ServerClient:
            client = default_client(info)  # type: ignore[arg-type]
            clients.append(client)
            return client

        engine = SyncEngine(b.store, client_maker=counted, interval=3600)
        first = engine.sync_once()
        assert first.pulled > 0 and not first.server_rewound

        watcher = b.store.connect_reader()
        try:
            ledger_before = ledger_rows(b, "ledger")
            audit_before = ledger_rows(b, "audit")
            idle: list[SyncReport] = []
            for _ in range(4):
                before = _data_version(watcher)
                report = engine.sync_once()
                # PRAGMA data_version moves when another connection commits: nothing did
                assert _data_version(watcher) == before, "an idle sync wrote to the database"
                idle.append(report)
        finally:
            watcher.close()

        for report in idle:
            assert not report.moved and not report.server_rewound and not report.server_lost
            assert report.credential_conflicts == 0
            assert report.requests == IDLE_REQUESTS
            assert 0 < report.bytes_exchanged <= IDLE_BYTES
        assert len({r.bytes_exchanged for r in idle}) == 1, "idle syncs should cost the same"
        assert [c.traffic.requests for c in clients[1:]] == [IDLE_REQUESTS] * 4
        assert ledger_rows(b, "ledger") == ledger_before
        assert ledger_rows(b, "audit") == audit_before
        assert not any("restored" in line for r in idle for line in r.lines())
        assert server_verify(site.core.store).ok
        engine.close()
    finally:
        stop_site(site)


def test_an_empty_page_keeps_the_cursor_on_its_entry(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    """The feed cursor keeps the entry it was left on after an empty page, so the next sync's
    restore check finds that entry and does not re-read the feed."""
    from storage.sync_state import FEED, SyncState

    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        a = cart(site, "cart-a")
        seed(a)
        a.tab.engine.sync_once()
        state = SyncState(a.tab.store.connect_reader, a.clock)
        after_first = state.cursor(FEED)
        assert after_first[0] > 0 and after_first[1] is not None
        a.tab.engine.sync_once()  # empty page
        assert state.cursor(FEED) == after_first
        third = a.tab.engine.sync_once()
        assert not third.server_rewound and not third.moved
    finally:
        stop_site(site)
