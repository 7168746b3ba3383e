"""The storage floor of a durable record: the same three rows a recorded dose stored (ledger,
audit, administrations), inserted into a freshly migrated database — same schema, indexes and
append-only triggers — and committed durably, with no validation, rules, signing or encoding.
With a signer, each commit also makes the two Ed25519 signatures a record needs (its ledger
entry and its audit entry, docs/architecture.md#the-ledger), so the floor is everything the
design itself fixes.

What the floor costs against a bare commit is what the "≤ 3× bare" budget
(docs/architecture.md#performance-budgets) leaves for the rest of a record: the schema alone writes
~10 encrypted pages where the bare commit writes one or two.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mar_desktop.envelope import signed_part
from mar_desktop.signing import DeviceSigner
from storage.database import Connection, connect
from storage.migrate import migrate
from storage.projections_clinical import ADMINISTRATION_INSERT

StoredRows = tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]

_LEDGER_COLUMNS = "id, device_id, seq, kind, recorded_at, raw, digest"
_INSERT = {
    chain: f"INSERT INTO {chain} ({_LEDGER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    for chain in ("ledger", "audit")
}


def stored_rows(conn: Connection, count: int) -> list[StoredRows]:
    """The last ``count`` recorded doses' rows, oldest first: each administration entry's ledger
    row, the audit row its transaction wrote (the n-th record_created with the n-th dose), and
    its projection row."""
    ledger = conn.execute(
        f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE kind = 'administration.recorded' "
        "ORDER BY rowid DESC LIMIT ?",
        (count,),
    ).fetchall()
    audit = conn.execute(
        f"SELECT {_LEDGER_COLUMNS} FROM audit WHERE kind = 'audit.record_created' "
        "ORDER BY rowid DESC LIMIT ?",
        (count,),
    ).fetchall()
    rows = []
    for entry, trail in zip(ledger, audit, strict=True):
        projected = conn.execute(
            "SELECT * FROM administrations "
            "WHERE ledger_rowid = (SELECT rowid FROM ledger WHERE id = ?)",
            (entry[0],),
        ).fetchone()
        rows.append((tuple(entry), tuple(trail), tuple(projected)))
    rows.reverse()
    return rows


@contextlib.contextmanager
def floor_commits(
    folder: Path,
    rows: list[StoredRows],
    name: str = "floor.db",
    checkpoints: bool = True,
    signer: DeviceSigner | None = None,
) -> Iterator[list[Callable[[], None]]]:
    """A fresh migrated database ``folder / name``, closed on exit; one call per record, each a
    durable commit of that record's three rows (each call once: the triggers refuse a row
    stored twice). ``checkpoints=False`` keeps every frame in the WAL (for counting them).
    With ``signer``, each call first signs the signed bytes of the record's ledger and audit
    entries (the signatures are discarded: the stored rows keep the recording device's)."""
    conn = connect(folder / name, secrets.token_bytes(32), create=True)
    try:
        migrate(conn)
        if not checkpoints:  # the WAL starts empty after the migrations, then only grows
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA wal_autocheckpoint = 0")

        def commit(ledger: Any, audit: Any, projected: Any) -> Callable[[], None]:
            def one() -> None:
                if signer is not None:
                    signer.sign(signed_part(ledger[5]))
                    signer.sign(signed_part(audit[5]))
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(_INSERT["ledger"], ledger)
                conn.execute(_INSERT["audit"], audit)
                # the projection's own statement, keyed by the ledger row just stored
                conn.execute(ADMINISTRATION_INSERT, projected[1:])
                conn.execute("COMMIT")

            return one

        yield [commit(*stored) for stored in rows]
    finally:
        conn.close()
