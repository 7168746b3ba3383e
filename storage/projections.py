"""Projections: current state folded from the ledger, in the same transaction as each append.

Contract: :func:`project` is called by the writer (``storage.ledger``) on its connection inside
its open transaction, once per stored ledger-chain entry, with the entry's validated body; it
writes only projection tables (and ``device_keys`` for ``device.enrolled``). :func:`rebuild`
deletes every projection row and folds the whole ledger again; the result is the same whatever
order the entries arrived in (see ``migrations/0002_projections.sql``). Audit-chain entries
have no projection. Raises :class:`~mar_desktop.errors.IntegrityError` if an entry contradicts
stored key material (a second, different key for a device).
"""

from __future__ import annotations

from collections.abc import Callable

from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.kinds import Body, parse_body
from storage.database import Connection
from storage.projections_clinical import CLINICAL
from storage.projections_reference import REFERENCE

Projector = Callable[[Connection, Entry, Body, str], None]

PROJECTORS: dict[str, Projector] = {**REFERENCE, **CLINICAL}

PROJECTION_TABLES: tuple[str, ...] = (
    "facility",
    "units",
    "residents",
    "orders",
    "order_events",
    "users",
    "administrations",
    "voids",
    "amendments",
    "prn_followups",
    "alerts",
    "alert_acks",
)


def stamp_of(entry: Entry) -> str:
    """The last-writer-wins order of an entry: recorded_at, then device, then seq."""
    return f"{entry.recorded_at}|{entry.device_id}|{entry.seq:012d}"


def project(conn: Connection, entry: Entry, body: Body) -> None:
    """Folds one ledger entry into the projections (no-op for kinds without a projection)."""
    projector = PROJECTORS.get(entry.kind)
    if projector is not None:
        projector(conn, entry, body, stamp_of(entry))


def rebuild(conn: Connection) -> int:
    """Deletes all projection rows and folds every ledger entry again. Returns the count.

    Runs inside the caller's transaction if one is open, else in its own ``BEGIN IMMEDIATE``.
    """
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN IMMEDIATE")
    try:
        for table in PROJECTION_TABLES:
            conn.execute(f"DELETE FROM {table}")
        count = 0
        rows = conn.execute("SELECT raw FROM ledger ORDER BY rowid")
        while batch := rows.fetchmany(1000):
            for (raw,) in batch:
                entry = parse_raw(bytes(raw))
                project(conn, entry, parse_body(entry.kind, entry.body))
                count += 1
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own:
            conn.execute("ROLLBACK")
        raise
    return count
