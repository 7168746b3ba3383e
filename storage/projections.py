"""Projections: current state folded from the ledger, in the same transaction as each append.

Contract: :func:`project` is called by the writer (``storage.ledger``) on its connection inside
its open transaction, once per stored ledger-chain entry, with the entry's validated body; it
writes only projection tables (and ``device_keys`` for the server's ``device.enrolled``).
:func:`rebuild` deletes every projection row and folds the whole ledger again; the result is the
same whatever order the entries arrived in (see ``migrations/0002_projections.sql``).
Audit-chain entries have no projection. Raises :class:`~mar_desktop.errors.IntegrityError` if
an entry contradicts stored key material (a second, different key for a device).
"""

from __future__ import annotations

from collections.abc import Callable

from mar_desktop import __version__
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.kinds import SERVER_ONLY_KINDS, Body, from_newer_version, parse_body
from storage.database import Connection
from storage.projections_clinical import CLINICAL
from storage.projections_reference import REFERENCE
from storage.projections_verification import VERIFICATION
from storage.projections_witness import WITNESS

Projector = Callable[[Connection, Entry, Body, str], None]

PROJECTORS: dict[str, Projector] = {**REFERENCE, **CLINICAL, **VERIFICATION, **WITNESS}

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
    "order_checks",
    "urgent_doses",
    "witness_attestations",
    "dose_wastes",
)


def stamp_of(entry: Entry) -> str:
    """The last-writer-wins order of an entry: recorded_at, then device, then seq."""
    return f"{entry.recorded_at}|{entry.device_id}|{entry.seq:012d}"


def project(conn: Connection, entry: Entry, body: Body) -> None:
    """Folds one ledger entry into the projections (no-op for kinds without a projection).

    On a tablet enrolled with a server, an entry of a kind only the server records
    (:data:`mar_desktop.kinds.SERVER_ONLY_KINDS`) by any other device is kept in the ledger but
    not folded: the server refuses such entries now, but one it stored before must not add a
    device key, an alert or a facility configuration. A stand-alone store folds them all."""
    projector = PROJECTORS.get(entry.kind)
    if projector is None:
        return
    if entry.kind in SERVER_ONLY_KINDS and not _may_record_server_kinds(conn, entry.device_id):
        return
    projector(conn, entry, body, stamp_of(entry))


def _may_record_server_kinds(conn: Connection, device_id: str) -> bool:
    row = conn.execute("SELECT server_device_id FROM sync_server WHERE singleton = 1").fetchone()
    return row is None or row[0] == device_id


NEWER_HELD = "newer_entries_held"
"""``storage_flags`` row: the ledger holds entries written by a newer version of the app, kept
but not applied; its value is the app version that held them. Opening the store with another
version rebuilds the projections (:mod:`storage.migrate`), so an upgraded tablet applies them."""


def note_newer_held(conn: Connection, version: str) -> None:
    """Records (in the caller's transaction, or on its own) that entries from a newer version
    are held unapplied by app ``version``."""
    conn.execute(
        "INSERT OR REPLACE INTO storage_flags (name, value) VALUES (?, ?)", (NEWER_HELD, version)
    )


def rebuild(conn: Connection) -> int:
    """Deletes all projection rows and folds every ledger entry again. Returns the count.

    An entry from a newer version of the app (:func:`mar_desktop.kinds.from_newer_version`) is
    kept unapplied, and :data:`NEWER_HELD` says so afterwards (or is removed when none is left).
    Runs inside the caller's transaction if one is open, else in its own ``BEGIN IMMEDIATE``.
    """
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN IMMEDIATE")
    try:
        for table in PROJECTION_TABLES:
            conn.execute(f"DELETE FROM {table}")
        count = held = 0
        rows = conn.execute("SELECT raw FROM ledger ORDER BY rowid")
        while batch := rows.fetchmany(1000):
            for (raw,) in batch:
                entry = parse_raw(bytes(raw))
                if from_newer_version(entry.kind, entry.body):
                    held += 1
                    continue
                project(conn, entry, parse_body(entry.kind, entry.body))
                count += 1
        if held:
            note_newer_held(conn, __version__)
        else:
            conn.execute("DELETE FROM storage_flags WHERE name = ?", (NEWER_HELD,))
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own:
            conn.execute("ROLLBACK")
        raise
    return count
