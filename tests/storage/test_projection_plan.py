"""Planned projections (worked out in a sync worker process) store exactly what projecting the
entry on the writer would have stored."""

from __future__ import annotations

from pathlib import Path

from mar_desktop.clock import FakeClock
from mar_desktop.kinds import parse_body
from storage.ingest import Item
from storage.local_store import LocalStore
from storage.projection_plan import PLANNABLE, PlannedEntry, plan
from tests.storage.helpers import mixed_history, snapshot


def test_planned_entries_project_exactly_like_entries_projected_on_the_writer(
    store: LocalStore, tmp_path: Path, db_key: bytes
) -> None:
    mixed_history(store.ledger)
    conn = store.connect_reader()
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM ledger ORDER BY rowid")]
        expected = snapshot(conn)
    finally:
        conn.close()
    items: list[Item] = []
    for entry_id in ids:
        entry = store.ledger.entry(entry_id)
        assert entry is not None
        body = parse_body(entry.kind, entry.body)
        planned = plan(entry, body)
        assert (planned is not None) == (entry.kind in PLANNABLE)
        items.append(planned if planned is not None else (entry, body))
    assert any(isinstance(i, PlannedEntry) for i in items)
    other = LocalStore.create(tmp_path / "other", db_key, "fac-1", FakeClock())
    try:
        assert other.ledger.ingest_later(items).result() == len(items)
        conn = other.connect_reader()
        try:
            assert snapshot(conn) == expected
        finally:
            conn.close()
    finally:
        other.close()
