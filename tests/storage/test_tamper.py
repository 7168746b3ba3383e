"""Append-only enforcement and tamper evidence.

With the triggers in place the database refuses UPDATE and DELETE of stored entries. Someone
holding the key can drop the triggers; then every kind of change must make ``verify_store``
fail and name the exact entry (device, chain, seq, id)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import sqlcipher3

from mar_desktop.clock import FakeClock
from mar_desktop.envelope import Entry, seal
from mar_desktop.signing import DeviceSigner
from storage.database import Connection
from storage.local_store import LocalStore
from storage.verify import verify_store
from tests import factories as f
from tests.storage.helpers import mixed_history

TRIGGERS = (
    "ledger_no_update",
    "ledger_no_delete",
    "ledger_no_replace",
    "audit_no_update",
    "audit_no_delete",
    "audit_no_replace",
)


@pytest.fixture
def history(store: LocalStore) -> list[Entry]:
    mixed_history(store.ledger)
    entries = []
    for _ in range(5):
        entries += store.ledger.append([f.unit(), f.audit("view_resident")])
    return entries


@pytest.fixture
def conn(store: LocalStore) -> Iterator[Connection]:
    connection = store.connect_reader()
    try:
        yield connection
    finally:
        connection.close()


def _row(conn: Connection, table: str, seq: int) -> tuple[str, bytes]:
    row = conn.execute(f"SELECT id, raw FROM {table} WHERE seq = ?", (seq,)).fetchone()
    return row[0], bytes(row[1])


def _drop_triggers(conn: Connection) -> None:
    for name in TRIGGERS:
        conn.execute(f"DROP TRIGGER {name}")


def _assert_names(
    conn: Connection, store: LocalStore, chain: str, seq: int, entry_id: str, **options: object
) -> str:
    report = verify_store(conn, **options)  # type: ignore[arg-type]
    assert not report.ok
    failure = report.failure
    assert failure is not None
    assert (failure.device_id, failure.chain, failure.seq, failure.entry_id) == (
        store.device_id,
        chain,
        seq,
        entry_id,
    )
    assert entry_id in report.summary()
    return failure.reason


def test_intact_store_verifies(store: LocalStore, history: list[Entry], conn: Connection) -> None:
    report = verify_store(conn)
    assert report.ok, report.summary()
    total = conn.execute("SELECT (SELECT count(*) FROM ledger) + (SELECT count(*) FROM audit)")
    assert report.entries == total.fetchone()[0]
    assert report.chains == 2


@pytest.mark.parametrize("table", ["ledger", "audit"])
def test_update_and_delete_are_refused_by_the_database(
    history: list[Entry], conn: Connection, table: str
) -> None:
    entry_id, raw = _row(conn, table, 2)
    for statement, params in (
        (f"UPDATE {table} SET raw = ? WHERE id = ?", (raw + b" ", entry_id)),
        (f"UPDATE {table} SET seq = 99 WHERE id = ?", (entry_id,)),
        (f"DELETE FROM {table} WHERE id = ?", (entry_id,)),
        (f"DELETE FROM {table}", ()),
        (f"INSERT OR REPLACE INTO {table} SELECT * FROM {table} WHERE id = ?", (entry_id,)),
    ):
        with pytest.raises(sqlcipher3.IntegrityError, match="append-only"):
            conn.execute(statement, params)
    assert _row(conn, table, 2) == (entry_id, raw)


def test_device_key_cannot_be_replaced_or_deleted(store: LocalStore, conn: Connection) -> None:
    other = DeviceSigner.generate().public_hex
    with pytest.raises(sqlcipher3.IntegrityError):
        conn.execute("UPDATE device_keys SET public_key = ?", (other,))
    with pytest.raises(sqlcipher3.IntegrityError):
        conn.execute("DELETE FROM device_keys")


def test_changed_byte_of_raw_is_named(
    store: LocalStore, history: list[Entry], conn: Connection
) -> None:
    entry_id, raw = _row(conn, "ledger", 20)
    _drop_triggers(conn)
    changed = raw.replace(b'"v":1', b'"v":2', 1)
    assert changed != raw
    conn.execute("UPDATE ledger SET raw = ? WHERE id = ?", (changed, entry_id))
    reason = _assert_names(conn, store, "ledger", 20, entry_id)
    assert "digest" in reason


def test_changed_raw_with_recomputed_digest_fails_on_signature(
    store: LocalStore, history: list[Entry], conn: Connection
) -> None:
    entry_id, raw = _row(conn, "audit", 3)
    _drop_triggers(conn)
    changed = raw.replace(b'"user_name":"Testa Nurse"', b'"user_name":"Someone Else"', 1)
    assert changed != raw
    conn.execute(
        "UPDATE audit SET raw = ?, digest = ? WHERE id = ?",
        (changed, hashlib.sha256(changed).hexdigest(), entry_id),
    )
    reason = _assert_names(conn, store, "audit", 3, entry_id)
    assert "signature" in reason


@pytest.mark.parametrize("strict", [False, True])
def test_damaged_raw_is_named(
    store: LocalStore, history: list[Entry], conn: Connection, strict: bool
) -> None:
    entry_id, raw = _row(conn, "ledger", 7)
    _drop_triggers(conn)
    damaged = raw[:-40] + b"\xff" + raw[-39:]
    conn.execute(
        "UPDATE ledger SET raw = ?, digest = ? WHERE id = ?",
        (damaged, hashlib.sha256(damaged).hexdigest(), entry_id),
    )
    assert "well-formed" in _assert_names(conn, store, "ledger", 7, entry_id, strict=strict)


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("kind", "entry.voided", "kind"),
        ("id", "01900000-0000-7000-8000-000000000000", "id"),
        ("digest", "0" * 64, "digest"),
    ],
)
def test_changed_column_is_named(
    store: LocalStore,
    history: list[Entry],
    conn: Connection,
    column: str,
    value: str,
    words: str,
) -> None:
    entry_id, _ = _row(conn, "ledger", 12)
    _drop_triggers(conn)
    conn.execute(f"UPDATE ledger SET {column} = ? WHERE id = ?", (value, entry_id))
    named_id = value if column == "id" else entry_id
    assert words in _assert_names(conn, store, "ledger", 12, named_id)


def test_deleted_row_names_the_entry_after_the_gap(
    store: LocalStore, history: list[Entry], conn: Connection
) -> None:
    deleted_id, _ = _row(conn, "ledger", 15)
    next_id, _ = _row(conn, "ledger", 16)
    _drop_triggers(conn)
    conn.execute("DELETE FROM ledger WHERE id = ?", (deleted_id,))
    assert "gap" in _assert_names(conn, store, "ledger", 16, next_id)


def test_deleted_first_row_names_the_second(
    store: LocalStore, history: list[Entry], conn: Connection
) -> None:
    first_id, _ = _row(conn, "audit", 1)
    second_id, _ = _row(conn, "audit", 2)
    _drop_triggers(conn)
    conn.execute("DELETE FROM audit WHERE id = ?", (first_id,))
    assert "gap" in _assert_names(conn, store, "audit", 2, second_id)


def test_forged_row_is_named(store: LocalStore, history: list[Entry], conn: Connection) -> None:
    last_seq, last_digest = conn.execute(
        "SELECT seq, digest FROM ledger WHERE device_id = ? ORDER BY seq DESC LIMIT 1",
        (store.device_id,),
    ).fetchone()
    forged = seal(
        f.void(history[0].id, reason="cover-up"),
        facility_id="fac-1",
        device_id=store.device_id,
        seq=last_seq + 1,
        prev=last_digest,
        recorded_at=FakeClock().now(),
        signer=DeviceSigner.generate(),  # not this device's key
    )
    conn.execute(
        "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            forged.id,
            forged.device_id,
            forged.seq,
            forged.kind,
            forged.recorded_at,
            forged.raw,
            forged.digest,
        ),
    )
    assert "signature" in _assert_names(conn, store, "ledger", last_seq + 1, forged.id)


def test_forged_row_of_unknown_device_is_named(
    store: LocalStore, history: list[Entry], conn: Connection
) -> None:
    forged = seal(
        f.unit(),
        facility_id="fac-1",
        device_id="ffffffff-ffff-7fff-bfff-ffffffffffff",
        seq=1,
        prev="0" * 64,
        recorded_at=FakeClock().now(),
        signer=DeviceSigner.generate(),
    )
    conn.execute(
        "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            forged.id,
            forged.device_id,
            forged.seq,
            forged.kind,
            forged.recorded_at,
            forged.raw,
            forged.digest,
        ),
    )
    report = verify_store(conn)
    assert report.failure is not None
    assert report.failure.entry_id == forged.id
    assert report.failure.device_id == forged.device_id
    assert "no registered key" in report.failure.reason


def test_swapped_rows_are_named(store: LocalStore, history: list[Entry], conn: Connection) -> None:
    id9, _ = _row(conn, "ledger", 9)
    id10, _ = _row(conn, "ledger", 10)
    _drop_triggers(conn)
    conn.execute("UPDATE ledger SET seq = 1000000 WHERE id = ?", (id9,))
    conn.execute("UPDATE ledger SET seq = 9 WHERE id = ?", (id10,))
    conn.execute("UPDATE ledger SET seq = 10 WHERE id = ?", (id9,))
    assert "seq" in _assert_names(conn, store, "ledger", 9, id10)


def test_first_failure_is_reported_with_worker_processes(
    store: LocalStore, history: list[Entry], conn: Connection
) -> None:
    early_id, raw = _row(conn, "ledger", 5)
    late_id, late_raw = _row(conn, "ledger", 25)
    _drop_triggers(conn)
    for entry_id, old in ((late_id, late_raw), (early_id, raw)):
        conn.execute("UPDATE ledger SET raw = ? WHERE id = ?", (old + b" ", entry_id))
    options = {"workers": 2, "parallel_threshold": 0, "chunk_size": 4}
    _assert_names(conn, store, "ledger", 5, early_id, **options)


def test_worker_processes_pass_an_intact_store(
    store: LocalStore, history: list[Entry], conn: Connection
) -> None:
    report = verify_store(conn, workers=2, parallel_threshold=0, chunk_size=7)
    assert report.ok, report.summary()
    total = conn.execute("SELECT (SELECT count(*) FROM ledger) + (SELECT count(*) FROM audit)")
    assert report.entries == total.fetchone()[0]


@pytest.mark.parametrize("strict", [False, True])
def test_re_encoded_signature_of_last_entry_is_named(
    store: LocalStore, history: list[Entry], conn: Connection, strict: bool
) -> None:
    """Same signature bytes written in upper-case hex: still 'verifies', but the bytes changed."""
    seq, entry_id, raw = conn.execute(
        "SELECT seq, id, raw FROM audit ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    cut = raw.rfind(b',"sig":"') + 8
    changed = raw[:cut] + raw[cut:-2].upper() + raw[-2:]
    assert changed != raw
    _drop_triggers(conn)
    conn.execute(
        "UPDATE audit SET raw = ?, digest = ? WHERE id = ?",
        (changed, hashlib.sha256(changed).hexdigest(), entry_id),
    )
    _assert_names(conn, store, "audit", seq, entry_id, strict=strict)
