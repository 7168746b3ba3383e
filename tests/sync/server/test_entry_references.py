"""What ``entries`` may reference, on both stores: a stored entry always names a registered
device and facility, and a device whose entries are stored never goes away or changes its id.

SQLite checks this with foreign keys; PostgreSQL (migration 2) with a statement trigger over
each INSERT's or COPY's new rows, which costs a push far less than a per-row foreign key."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mar_desktop.errors import StorageError
from sync.server import config, migrations
from sync.server.core import ServerCore
from sync.server.simtablet import SimTablet
from sync.server.store import NewEntry, Store
from sync.server.verify import verify_store
from tests.sync.server.conftest import Server


def _row(*, device_id: str, facility_id: str) -> NewEntry:
    return NewEntry(
        facility_id=facility_id,
        device_id=device_id,
        chain="audit",
        seq=1,
        pos=10_000,
        entry_id=str(uuid.uuid4()),
        kind="audit.resident_viewed",
        digest="0" * 64,
        recorded_at="2026-01-05T08:00:00.000000Z",
        raw=b"{}",
    )


def _stored_count(store: Store, facility_id: str) -> int:
    return len(store.feed(facility_id, "audit", 0, 100_000))


@pytest.mark.parametrize("unknown", ["device", "facility"])
def test_an_entry_naming_an_unknown_device_or_facility_is_refused(
    server: Server, unknown: str
) -> None:
    tab = server.tablet()
    assert tab.device_id is not None
    before = _stored_count(server.store, server.facility_id)
    row = _row(
        device_id="no-such-device" if unknown == "device" else tab.device_id,
        facility_id="no-such-facility" if unknown == "facility" else server.facility_id,
    )
    with pytest.raises(StorageError), server.store.write() as txn:
        txn.insert_entries([row])
    assert _stored_count(server.store, server.facility_id) == before


def test_a_device_with_stored_entries_is_never_deleted_or_renamed(server: Server) -> None:
    tab = server.tablet()
    assert tab.push([tab.seal()]).status_code == 200
    for sql in (
        "DELETE FROM devices WHERE device_id = ?",
        "UPDATE devices SET device_id = 'renamed' WHERE device_id = ?",
    ):
        with pytest.raises(StorageError), server.store.write() as txn:
            txn._exec(sql, (tab.device_id,))
    assert server.store.get_device(tab.device_id or "") is not None
    server.core.revoke(tab.device_id or "")  # revoking (other columns) is still allowed
    revoked = server.store.get_device(tab.device_id or "")
    assert revoked is not None and revoked.revoked_at is not None


def test_a_facility_with_stored_entries_is_never_deleted_or_renamed(server: Server) -> None:
    """Even once nothing else references it: its devices moved elsewhere, its codes gone."""
    tab = server.tablet()
    assert tab.push([tab.seal()]).status_code == 200
    elsewhere, _ = server.core.create_facility("Birch Court", "UTC")
    with server.store.write() as txn:
        txn._exec(
            "UPDATE devices SET facility_id = ? WHERE facility_id = ?",
            (elsewhere, server.facility_id),
        )
        txn._exec("DELETE FROM enrol_codes WHERE facility_id = ?", (server.facility_id,))
    for sql in (
        "DELETE FROM facilities WHERE facility_id = ?",
        "UPDATE facilities SET facility_id = 'renamed' WHERE facility_id = ?",
    ):
        with pytest.raises(StorageError), server.store.write() as txn:
            txn._exec(sql, (server.facility_id,))
    assert server.store.facility_name(server.facility_id) == "Maple House"


def test_postgres_upgrade_from_version_1_keeps_entries_and_their_references(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as older:  # a database made by a server that knew only 1
        older.setattr(migrations, "POSTGRES", migrations.POSTGRES[:1])
        store = config.open_store(pg_url)
        assert store.migrate() == 1
    core = ServerCore(store, config.create_server_key(tmp_path / "data"))
    try:
        facility_id, _ = core.create_facility("Maple House", "UTC")
        held = store.feed(facility_id, "ledger", 0, 1000)
        assert held  # the facility's configuration entries, stored under version 1

        with monkeypatch.context() as two:  # the upgrade to version 2 (3 came later)
            two.setattr(migrations, "POSTGRES", migrations.POSTGRES[:2])
            assert store.migrate() == 2
        with store.write() as txn:
            versions = [r[0] for r in txn._all("SELECT version FROM schema_migrations")]
            references = txn._all(
                "SELECT conname FROM pg_constraint "
                "WHERE conrelid = 'entries'::regclass AND contype = 'f'"
            )
        assert sorted(versions) == [1, 2]
        assert references == []
        assert store.feed(facility_id, "ledger", 0, 1000) == held
        assert store.migrate() == len(migrations.POSTGRES)  # the rest, as a server start does
        assert verify_store(store).ok

        server_device = store.server_device(facility_id)
        assert server_device is not None
        with pytest.raises(StorageError), store.write() as txn:
            txn.insert_entries([_row(device_id="no-such-device", facility_id=facility_id)])
        with pytest.raises(StorageError), store.write() as txn:
            txn._exec("DELETE FROM devices WHERE device_id = ?", (server_device.device_id,))
    finally:
        store.close()


def test_a_push_after_the_upgrade_is_stored_in_one_statement(server: Server) -> None:
    """Many entries in one push (one COPY on PostgreSQL): the statement check lets them all in."""
    tab: SimTablet = server.tablet()
    resp = tab.push(tab.make(300))
    assert resp.status_code == 200
    assert resp.json()["stored"] == 300
