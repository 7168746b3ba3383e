"""Projections are a pure function of the ledger: rebuilt ones equal the originals, and the
result does not depend on the order entries arrive in (sync delivers them in any order)."""

from __future__ import annotations

import random
from pathlib import Path

from mar_desktop.clock import FakeClock
from storage.local_store import LocalStore
from storage.projections import PROJECTION_TABLES, rebuild
from tests.storage.helpers import mixed_history, snapshot


def _all_entries(store: LocalStore) -> list:
    conn = store.connect_reader()
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM ledger ORDER BY rowid")]
    finally:
        conn.close()
    return [store.ledger.entry(i) for i in ids]


def test_dropped_and_rebuilt_projections_equal_the_originals(store: LocalStore) -> None:
    mixed_history(store.ledger)
    conn = store.connect_reader()
    try:
        original = snapshot(conn)
        assert all(original[t] for t in PROJECTION_TABLES), "history must fill every table"
        conn.execute("BEGIN IMMEDIATE")
        for table in PROJECTION_TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("COMMIT")
        assert not any(snapshot(conn).values())
        count = rebuild(conn)
        assert count > 20
        assert snapshot(conn) == original
    finally:
        conn.close()


def test_ingest_order_does_not_change_projections(
    store: LocalStore, tmp_path: Path, db_key: bytes
) -> None:
    mixed_history(store.ledger)
    entries = _all_entries(store)
    conn = store.connect_reader()
    try:
        expected = snapshot(conn)
    finally:
        conn.close()
    for attempt in range(3):
        shuffled = entries[:]
        random.Random(attempt).shuffle(shuffled)
        other = LocalStore.create(tmp_path / f"copy{attempt}", db_key, "fac-1", FakeClock())
        try:
            # several small batches in shuffled order, as sync might deliver them
            for start in range(0, len(shuffled), 5):
                other.ledger.ingest(shuffled[start : start + 5])
            conn = other.connect_reader()
            try:
                assert snapshot(conn) == expected
            finally:
                conn.close()
        finally:
            other.close()
