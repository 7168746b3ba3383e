"""Storing other devices' entries (already verified by sync) on the writer connection.

Contract: :func:`store_batch` runs on the ledger writer's thread, inside the writer's open
transaction (``storage.ledger`` begins and commits it), with entries whose bodies were validated
once by the caller — each paired with its body, or as a
:class:`~storage.projection_plan.PlannedEntry` whose projection statements were worked out
ahead by the same projector. It inserts every new entry into ``ledger``/``audit`` and folds
ledger-chain entries into the projections, in the given order.

- Fast path: all rows of the batch go in with one ``executemany`` per chain inside a SAVEPOINT.
  The append-only triggers and UNIQUE constraints still check every row; if any row clashes
  (an entry already stored, or a fork) the savepoint is rolled back and the batch is stored by
  the careful path instead.
- Careful path (the original per-entry rules): an entry already stored with the same bytes is
  skipped; one whose id or (device, seq) is stored with different bytes raises
  :class:`~mar_desktop.errors.IntegrityError` (the caller's transaction is then rolled back,
  so nothing of the batch is stored).

Raises ``sqlcipher3.Error`` for database trouble (the writer maps it to StorageError).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlcipher3

from mar_desktop.envelope import Entry
from mar_desktop.errors import IntegrityError
from mar_desktop.kinds import Body
from storage.database import Connection
from storage.projection_plan import PlannedEntry
from storage.projections import project

_COLUMNS = "(id, device_id, seq, kind, recorded_at, raw, digest) VALUES (?, ?, ?, ?, ?, ?, ?)"
_INSERT = {"ledger": f"INSERT INTO ledger {_COLUMNS}", "audit": f"INSERT INTO audit {_COLUMNS}"}
_BY_ID = {
    "ledger": "SELECT raw FROM ledger WHERE id = ?",
    "audit": "SELECT raw FROM audit WHERE id = ?",
}
_BY_SEQ = {
    "ledger": "SELECT id FROM ledger WHERE device_id = ? AND seq = ?",
    "audit": "SELECT id FROM audit WHERE device_id = ? AND seq = ?",
}
_SAVEPOINT = "ingest_fast"


@dataclass(frozen=True, slots=True)
class Stored:
    """What :func:`store_batch` wrote."""

    count: int
    """How many entries were new."""
    device_ids: frozenset[str]
    """The devices whose chains got new entries (the writer re-reads its own heads)."""


Item = tuple[Entry, Body] | PlannedEntry
"""An entry with its validated body, or one whose projection was planned ahead."""


def _row(entry: Entry | PlannedEntry) -> tuple[str, str, int, str, str, bytes, str]:
    return (
        entry.id,
        entry.device_id,
        entry.seq,
        entry.kind,
        entry.recorded_at,
        entry.raw,
        entry.digest,
    )


def _entry_of(item: Item) -> Entry | PlannedEntry:
    return item if isinstance(item, PlannedEntry) else item[0]


def _project(conn: Connection, item: Item) -> None:
    if isinstance(item, PlannedEntry):
        for sql, params in item.statements:
            conn.execute(sql, params)
        return
    entry, body = item
    if entry.chain == "ledger":
        project(conn, entry, body)


def store_batch(conn: Connection, batch: Sequence[Item]) -> Stored:
    """Stores and projects ``batch`` inside the caller's open transaction (see module doc)."""
    if not batch:
        return Stored(0, frozenset())
    if _insert_all(conn, batch):
        for item in batch:
            _project(conn, item)
        return Stored(len(batch), frozenset(_entry_of(i).device_id for i in batch))
    return _store_carefully(conn, batch)


def _insert_all(conn: Connection, batch: Sequence[Item]) -> bool:
    """True if every row was inserted; False (and nothing inserted) if one clashed."""
    entries = [_entry_of(item) for item in batch]
    ledger = [_row(e) for e in entries if e.chain == "ledger"]
    audit = [_row(e) for e in entries if e.chain == "audit"]
    conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        if ledger:
            conn.executemany(_INSERT["ledger"], ledger)
        if audit:
            conn.executemany(_INSERT["audit"], audit)
    except sqlcipher3.IntegrityError:
        conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
        conn.execute(f"RELEASE {_SAVEPOINT}")
        return False
    conn.execute(f"RELEASE {_SAVEPOINT}")
    return True


def _store_carefully(conn: Connection, batch: Sequence[Item]) -> Stored:
    stored = 0
    devices: set[str] = set()
    for item in batch:
        entry = _entry_of(item)
        chain = entry.chain
        row = conn.execute(_BY_ID[chain], (entry.id,)).fetchone()
        if row is not None:
            if bytes(row[0]) != entry.raw:
                raise IntegrityError(
                    "An entry arrived with the id of a stored entry but different "
                    "content; the batch was not stored."
                )
            continue
        if conn.execute(_BY_SEQ[chain], (entry.device_id, entry.seq)).fetchone():
            raise IntegrityError(
                "An entry arrived for a sequence number already stored with different "
                "content (a fork); the batch was not stored."
            )
        conn.execute(_INSERT[chain], _row(entry))
        _project(conn, item)
        devices.add(entry.device_id)
        stored += 1
    return Stored(stored, frozenset(devices))
