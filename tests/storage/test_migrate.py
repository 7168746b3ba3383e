"""Numbered migrations: order, versions, refusal of newer databases, upgrade with data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mar_desktop.clock import FakeClock
from mar_desktop.errors import SchemaTooNew, StorageError
from storage.credentials import SqlCredentialStore
from storage.database import connect, database_path
from storage.local_store import LocalStore, init_device
from storage.migrate import available, current_version, latest_version, migrate
from storage.projections_reference import register_device_key
from storage.verify import verify_store
from tests import factories as f
from tests.storage.helpers import (
    VERSION_6_COLUMNS,
    back_to_release,
    back_to_version_6_administrations,
    mixed_history,
    snapshot,
    undo_migrations_after,
)


def test_migration_files_are_numbered_from_one() -> None:
    versions = [m.version for m in available()]
    assert versions == list(range(1, len(versions) + 1))
    assert versions[:2] == [1, 2]


def test_fresh_database_reaches_latest_and_records_each_version(
    tmp_path: Path, db_key: bytes
) -> None:
    conn = connect(tmp_path / "x.db", db_key, create=True)
    try:
        assert current_version(conn) == 0
        assert migrate(conn) == latest_version()
        rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert [r[0] for r in rows] == [m.version for m in available()]
        assert migrate(conn) == latest_version()  # idempotent
    finally:
        conn.close()


def test_newer_database_is_refused_untouched(tmp_path: Path, db_key: bytes) -> None:
    conn = connect(tmp_path / "x.db", db_key, create=True)
    try:
        migrate(conn)
        future = latest_version() + 1
        conn.execute(
            "INSERT INTO schema_version VALUES (?, 'from_the_future', '2030-01-01T00:00:00Z')",
            (future,),
        )
        with pytest.raises(SchemaTooNew):
            migrate(conn)
        assert current_version(conn) == future
    finally:
        conn.close()


def test_failing_migration_rolls_back_alone(tmp_path: Path, db_key: bytes) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_good.sql").write_text("CREATE TABLE a (x INTEGER);")
    (folder / "0002_bad.sql").write_text("CREATE TABLE b (x INTEGER); SELECT * FROM nowhere;")
    conn = connect(tmp_path / "x.db", db_key, create=True)
    try:
        with pytest.raises(StorageError):
            migrate(conn, directory=folder)
        assert current_version(conn) == 1
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "a" in names
        assert "b" not in names
    finally:
        conn.close()


def test_upgrade_from_version_1_fills_projections_and_verifies(
    tmp_path: Path, db_key: bytes
) -> None:
    """A database made at schema 1 (ledger only) with entries; the current code upgrades it,
    rebuilds the projections from its ledger, and the result equals a store that had the
    projections all along."""
    # reference: the same history written with the full schema
    reference = LocalStore.create(tmp_path / "ref", db_key, "fac-1", FakeClock())
    mixed_history(reference.ledger)
    ref_key = reference.ledger.public_key_hex
    ref_conn = reference.connect_reader()
    expected = snapshot(ref_conn)
    ref_rows = ref_conn.execute(
        "SELECT id, device_id, seq, kind, recorded_at, raw, digest FROM ledger ORDER BY rowid"
    ).fetchall()
    ref_conn.close()
    reference.close()

    # an old version of the app: schema 1 only, entries stored without projections
    data = tmp_path / "old"
    data.mkdir()
    conn = connect(database_path(data), db_key, create=True)
    try:
        assert migrate(conn, target=1) == 1
        init_device(conn, "fac-1", FakeClock())
        conn.execute("BEGIN IMMEDIATE")
        register_device_key(
            conn,
            ref_rows[0][1],
            ref_key,
            label="",
            registered_at="2026-01-05T08:00:00.000000Z",
            source="sync",
        )
        conn.executemany("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)", ref_rows)
        conn.execute("COMMIT")
        assert current_version(conn) == 1
        assert not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'administrations'"
        ).fetchone()
    finally:
        conn.close()

    upgraded = LocalStore.open(data, db_key, FakeClock())
    try:
        conn = upgraded.connect_reader()
        try:
            assert current_version(conn) == latest_version()
            assert snapshot(conn) == expected
            assert conn.execute("SELECT count(*) FROM storage_flags").fetchone()[0] == 0
            report = verify_store(conn)
            assert report.ok, report.summary()
            assert report.entries == len(ref_rows)
        finally:
            conn.close()
    finally:
        upgraded.close()


def _add_the_body_copy_back(conn: object) -> None:
    """The ``body_json`` column that releases before 0006 kept, filled as they filled it."""
    conn.execute(  # type: ignore[attr-defined]
        "ALTER TABLE administrations ADD COLUMN body_json TEXT NOT NULL DEFAULT ''"
    )
    conn.execute(  # type: ignore[attr-defined]
        "UPDATE administrations SET body_json = (SELECT json_extract(l.raw, '$.body') "
        "FROM ledger l WHERE l.id = administrations.entry_id)"
    )


def _administration_columns(conn: object) -> list[str]:
    rows = conn.execute("PRAGMA table_info(administrations)").fetchall()  # type: ignore[attr-defined]
    return [r[1] for r in rows]


def _store_with_history(data_dir: Path, db_key: bytes) -> dict[str, list[Any]]:
    """A closed store at the current schema holding :func:`mixed_history`; its snapshot."""
    store = LocalStore.create(data_dir, db_key, "fac-1", FakeClock())
    try:
        mixed_history(store.ledger)
        conn = store.connect_reader()
        expected = snapshot(conn)
        conn.close()
    finally:
        store.close()
    return expected


def _administration_indexes(conn: object, *, automatic: bool = False) -> set[str]:
    """The administrations table's declared indexes, or with ``automatic`` the ones SQLite made
    for its constraints (a text primary key's)."""
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'administrations'"
    ).fetchall()
    return {r[0] for r in rows if r[0].startswith("sqlite_autoindex") == automatic}


def test_upgrade_from_version_4_drops_the_by_order_indexes_and_keeps_the_records(
    tmp_path: Path, db_key: bytes
) -> None:
    """A version-4 database (made by the previous release) with recorded doses: 0005 drops
    the two by-order indexes; the records and what the read model answers are unchanged."""
    expected = _store_with_history(tmp_path / "s", db_key)
    path = database_path(tmp_path / "s")
    conn = connect(path, db_key)
    try:
        # back to what release 4 left: schema_version 4, the body copy and the two indexes
        conn.execute("BEGIN IMMEDIATE")
        back_to_version_6_administrations(conn)
        _add_the_body_copy_back(conn)
        undo_migrations_after(conn, 4)
        conn.execute(
            "CREATE INDEX administrations_by_order ON administrations (order_id, scheduled_for)"
        )
        conn.execute(
            "CREATE INDEX administrations_by_order_given "
            "ON administrations (order_id, administered_at)"
        )
        conn.execute("COMMIT")
        assert current_version(conn) == 4
        assert "administrations_by_order" in _administration_indexes(conn)
        assert migrate(conn) == latest_version()
        assert _administration_indexes(conn) == {
            "administrations_by_resident", "administrations_far_from_schedule"
        }
        assert snapshot(conn) == expected
    finally:
        conn.close()


def _history_back_at(
    data_dir: Path, db_key: bytes, version: int, *older: Any
) -> dict[str, list[Any]]:
    """A closed store holding :func:`mixed_history`, then taken back to what release
    ``version`` left: each of ``older`` (a function of the connection) in one transaction with
    the schema_version rows above ``version`` deleted. Returns the current-schema snapshot."""
    expected = _store_with_history(data_dir, db_key)
    assert expected["administrations"], "the history must hold recorded doses"
    back_to_release(database_path(data_dir), db_key, version, *older)
    conn = connect(database_path(data_dir), db_key)
    try:
        assert current_version(conn) == version
    finally:
        conn.close()
    return expected


def _upgraded_is_unchanged(store: LocalStore, expected: dict[str, list[Any]]) -> None:
    """``store`` opened (so migrated): at the latest version, every projection row as
    ``expected``, and the ledger still verifies."""
    conn = store.connect_reader()
    try:
        assert current_version(conn) == latest_version()
        assert snapshot(conn) == expected
        report = verify_store(conn)
        assert report.ok, report.summary()
    finally:
        conn.close()


def _administration_ids(store: LocalStore) -> list[str]:
    conn = store.connect_reader()
    try:
        return [r[0] for r in conn.execute("SELECT entry_id FROM administrations")]
    finally:
        conn.close()


def test_upgrade_from_version_5_drops_the_body_copy_and_keeps_the_records(
    tmp_path: Path, db_key: bytes
) -> None:
    """A version-5 database with recorded doses and their ``body_json`` copies: 0006 drops the
    column; every other column of every record, what the read model answers, and the ledger's
    verification are unchanged, and a dose recorded afterwards is projected."""
    expected = _history_back_at(
        tmp_path / "s", db_key, 5, back_to_version_6_administrations, _add_the_body_copy_back
    )
    conn = connect(database_path(tmp_path / "s"), db_key)
    try:
        assert "body_json" in _administration_columns(conn)
        assert conn.execute(
            "SELECT count(*) FROM administrations WHERE body_json NOT LIKE '{%}'"
        ).fetchone()[0] == 0
    finally:
        conn.close()
    upgraded = LocalStore.open(tmp_path / "s", db_key, FakeClock())
    try:
        _upgraded_is_unchanged(upgraded, expected)
        mixed_history(upgraded.ledger)  # the projection writes the table's new shape
        assert len(_administration_ids(upgraded)) == 2 * len(expected["administrations"])
    finally:
        upgraded.close()


def test_upgrade_from_version_6_keys_administrations_by_their_ledger_row(
    tmp_path: Path, db_key: bytes
) -> None:
    """A version-6 database (administrations keyed by ``entry_id TEXT PRIMARY KEY``): 0007 keys
    every record by its entry's ledger row and drops the text key's index; every record, what
    the read model answers and the ledger's verification are unchanged, and doses recorded
    afterwards are projected and found by id."""
    expected = _history_back_at(tmp_path / "s", db_key, 6, back_to_version_6_administrations)
    conn = connect(database_path(tmp_path / "s"), db_key)
    try:
        assert "ledger_rowid" not in _administration_columns(conn)
        assert _administration_indexes(conn, automatic=True)  # the text primary key's index
    finally:
        conn.close()
    upgraded = LocalStore.open(tmp_path / "s", db_key, FakeClock())
    try:
        _upgraded_is_unchanged(upgraded, expected)
        conn = upgraded.connect_reader()
        try:
            assert _administration_columns(conn)[:2] == ["ledger_rowid", "entry_id"]
            assert not _administration_indexes(conn, automatic=True)
            unlinked = conn.execute(
                "SELECT count(*) FROM administrations a LEFT JOIN ledger l "
                "ON l.rowid = a.ledger_rowid WHERE l.id IS NOT a.entry_id"
            ).fetchone()[0]
            assert unlinked == 0
        finally:
            conn.close()
        mixed_history(upgraded.ledger)
        ids = _administration_ids(upgraded)
        assert len(ids) == 2 * len(expected["administrations"])
        read = upgraded.reader()
        for entry_id in ids:
            found = read.administration(entry_id)
            assert found is not None and found.entry_id == entry_id
    finally:
        upgraded.close()


def _back_to_version_7_schedule_index(conn: object) -> None:
    conn.execute("DROP INDEX administrations_far_from_schedule")  # type: ignore[attr-defined]
    conn.execute(  # type: ignore[attr-defined]
        "CREATE INDEX administrations_by_resident_sched "
        "ON administrations (resident_id, scheduled_for)"
    )


def test_upgrade_from_version_7_keeps_only_doses_far_from_their_slot_in_the_schedule_index(
    tmp_path: Path, db_key: bytes
) -> None:
    """A version-7 database (every scheduled dose in the by-schedule index): 0008 replaces the
    index with one holding only the doses given more than 12 hours from their slot; records,
    read model and verification are unchanged, and a late entry recorded afterwards is found
    by its slot."""
    expected = _history_back_at(tmp_path / "s", db_key, 7, _back_to_version_7_schedule_index)
    upgraded = LocalStore.open(tmp_path / "s", db_key, FakeClock())
    try:
        _upgraded_is_unchanged(upgraded, expected)
        conn = upgraded.connect_reader()
        try:
            assert _administration_indexes(conn) == {
                "administrations_by_resident", "administrations_far_from_schedule"
            }
            resident, order = conn.execute(
                "SELECT resident_id, order_id FROM administrations "
                "WHERE scheduled_for IS NOT NULL LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
        slot = f.T0 + timedelta(days=20)
        [late] = upgraded.ledger.append([f.administration(
            resident, order, scheduled_for=slot, administered_at=slot + timedelta(days=2)
        )])
        found = upgraded.reader().administrations(
            since=slot, until=slot + timedelta(minutes=1), resident_ids=[resident]
        )
        assert [r.entry_id for r in found] == [late.id]
    finally:
        upgraded.close()


def _an_orphan_record(conn: object) -> None:
    conn.execute(  # type: ignore[attr-defined]
        f"INSERT INTO administrations SELECT 'no-such-entry', {', '.join(VERSION_6_COLUMNS[1:])} "
        "FROM administrations LIMIT 1"
    )


def test_version_7_fails_whole_on_a_record_without_its_ledger_entry(
    tmp_path: Path, db_key: bytes
) -> None:
    """A version-6 record whose ledger entry is missing (impossible by construction) makes
    0007 fail loudly with nothing changed, rather than be dropped or keyed to a made-up row."""
    _history_back_at(
        tmp_path / "s", db_key, 6, back_to_version_6_administrations, _an_orphan_record
    )
    conn = connect(database_path(tmp_path / "s"), db_key)
    try:

        def state() -> tuple[list[Any], list[Any]]:
            return (
                conn.execute("SELECT * FROM sqlite_master ORDER BY name").fetchall(),
                conn.execute("SELECT * FROM administrations ORDER BY entry_id").fetchall(),
            )

        before = state()
        with pytest.raises(StorageError, match="version 7") as failed:
            migrate(conn)
        assert "ledger entry's row" in str(failed.value.__cause__)
        assert current_version(conn) == 6
        assert state() == before
    finally:
        conn.close()


def test_an_upgrade_reports_each_step_and_a_new_or_current_database_reports_none(
    tmp_path: Path, db_key: bytes
) -> None:
    """What the login screen shows while an older database is upgraded: one message per
    migration applied, then the projection rebuild if one asked for it; nothing for a new
    database (its migrations take milliseconds) or one already current."""
    from storage.migrate import REBUILDING, UPDATING

    fresh: list[str] = []
    conn = connect(tmp_path / "new.db", db_key, create=True)
    try:
        migrate(conn, on_step=fresh.append)
        migrate(conn, on_step=fresh.append)
    finally:
        conn.close()
    assert fresh == []

    def flag_a_rebuild(conn: object) -> None:
        conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO storage_flags (name, value) VALUES ('rebuild_projections', '1')"
        )

    _history_back_at(
        tmp_path / "s", db_key, 5, back_to_version_6_administrations, _add_the_body_copy_back,
        flag_a_rebuild,
    )
    steps: list[str] = []
    upgraded = LocalStore.open(tmp_path / "s", db_key, FakeClock(), on_progress=steps.append)
    upgraded.close()
    later = latest_version() - 5
    assert later >= 3
    assert steps == [UPDATING.format(step=k, steps=later) for k in range(1, later + 1)] + [
        REBUILDING
    ]


def test_upgrade_from_version_8_adds_the_device_local_totp_step_table(
    tmp_path: Path, db_key: bytes
) -> None:
    """A version-8 database (no ``totp_last_step``): 0009 adds the empty table; the records and
    the ledger are unchanged, and a step can be kept there afterwards."""
    expected = _history_back_at(tmp_path / "s", db_key, 8)
    conn = connect(database_path(tmp_path / "s"), db_key)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "totp_last_step" not in tables
    finally:
        conn.close()
    store = LocalStore.open(tmp_path / "s", db_key, FakeClock())
    try:
        _upgraded_is_unchanged(store, expected)
        creds = SqlCredentialStore(store.connect_reader)
        try:
            assert creds.last_totp_step("u1") is None
            creds.save_totp_step("u1", 7)
            assert creds.last_totp_step("u1") == 7
        finally:
            creds.close()
    finally:
        store.close()


def test_upgrade_from_version_9_adds_the_snapshot_tables_and_the_history_stays_whole(
    tmp_path: Path, db_key: bytes
) -> None:
    """A version-9 database (no snapshot tables): 0010 adds them empty; a store that read its
    whole feed holds its whole history (no window, verify is not partial)."""
    expected = _history_back_at(tmp_path / "s", db_key, 9)
    conn = connect(database_path(tmp_path / "s"), db_key)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "sync_snapshot" not in tables and "sync_chain_anchor" not in tables
    finally:
        conn.close()
    store = LocalStore.open(tmp_path / "s", db_key, FakeClock())
    try:
        _upgraded_is_unchanged(store, expected)
        assert store.reader().history_complete_from() is None
        conn = store.connect_reader()
        try:
            report = verify_store(conn)
            assert report.ok and report.partial is None and report.windowed is None
        finally:
            conn.close()
    finally:
        store.close()


def test_upgrade_from_version_12_projects_the_witness_entries_it_held(
    tmp_path: Path, db_key: bytes
) -> None:
    """A version-12 database (no witness tables; a tablet of that release kept the
    ``witness.attested`` and ``administration.wasted`` entries unapplied): 0013 adds the tables
    and the rebuild fills them from the ledger; the dose keeps its record and the ledger
    verifies."""
    expected = _history_back_at(tmp_path / "s", db_key, 12)
    assert expected["witness_attestations"] and expected["dose_wastes"]
    conn = connect(database_path(tmp_path / "s"), db_key)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "witness_attestations" not in tables and "dose_wastes" not in tables
    finally:
        conn.close()
    store = LocalStore.open(tmp_path / "s", db_key, FakeClock())
    try:
        _upgraded_is_unchanged(store, expected)
        records = [store.reader().administration(i) for i in _administration_ids(store)]
        assert any(r is not None and r.wastes for r in records)
    finally:
        store.close()


def test_upgrade_from_version_13_adds_shift_assignments_and_applies_those_held_unapplied(
    tmp_path: Path, db_key: bytes
) -> None:
    """A database of the release before shift assignments: its ledger holds a
    ``shift.assigned`` entry that release kept unapplied ("recorded by a newer version",
    ``newer_entries_held``). 0014 adds the table; opening with this version rebuilds the
    projections, so the assignment is applied and every other row is as before."""
    from storage.projections import NEWER_HELD

    def held_by_the_older_release(conn: Any) -> None:
        conn.execute("DELETE FROM shift_assignments")
        conn.execute("INSERT OR REPLACE INTO storage_flags (name, value) VALUES (?, '0.older')",
                     (NEWER_HELD,))

    expected = _history_back_at(tmp_path / "s", db_key, 13, held_by_the_older_release)
    assert expected["shift_assignments"], "the history must hold a shift assignment"
    conn = connect(database_path(tmp_path / "s"), db_key)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "shift_assignments" not in tables
    finally:
        conn.close()
    store = LocalStore.open(tmp_path / "s", db_key, FakeClock())
    try:
        _upgraded_is_unchanged(store, expected)
        [held] = store.reader().shift_assignments(
            "user-cna", since=f.T0, until=f.T0 + timedelta(hours=1))
        assert (held.rooms, held.unit_id, held.set_by_role) == (("101", "102"), "unit-1", "nurse")
    finally:
        store.close()
