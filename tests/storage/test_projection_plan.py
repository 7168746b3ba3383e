"""Planned projections (worked out in a sync worker process) store exactly what projecting the
entry on the writer would have stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from mar_desktop.clock import FakeClock
from mar_desktop.envelope import Actor, EntryDraft, parse_raw, seal
from mar_desktop.errors import ValidationError
from mar_desktop.kinds import ADMINISTRATION_RECORDED, parse_body
from mar_desktop.signing import DeviceSigner
from storage.ingest import Item
from storage.local_store import LocalStore
from storage.projection_plan import PLANNABLE, PlannedEntry, plan, validated_body
from tests import factories as f
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


def test_validated_body_from_the_canonical_text_equals_parse_body(store: LocalStore) -> None:
    mixed_history(store.ledger)
    conn = store.connect_reader()
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM ledger ORDER BY rowid")]
    finally:
        conn.close()
    for entry_id in ids:
        entry = store.ledger.entry(entry_id)
        assert entry is not None
        assert validated_body(entry) == parse_body(entry.kind, entry.body)


def test_validated_body_refuses_what_parse_body_refuses(store: LocalStore) -> None:
    mixed_history(store.ledger)
    conn = store.connect_reader()
    try:
        raw = conn.execute(
            "SELECT raw FROM ledger WHERE kind = ? LIMIT 1", (ADMINISTRATION_RECORDED,)
        ).fetchone()[0]
    finally:
        conn.close()
    entry = parse_raw(bytes(raw))
    body = dict(entry.body, administered_at="2026-01-01T10:00:00")  # no time zone
    bad = seal(
        EntryDraft(entry.kind, Actor("u-1", "nurse"), body),
        facility_id="fac-1",
        device_id="dev-1",
        seq=1,
        prev="0" * 64,
        recorded_at=f.T0,
        signer=DeviceSigner.generate(),
    )
    with pytest.raises(ValidationError) as direct:
        parse_body(bad.kind, bad.body)
    with pytest.raises(ValidationError) as fast:
        validated_body(bad)
    assert str(fast.value) == str(direct.value)
