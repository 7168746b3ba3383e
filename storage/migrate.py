"""Numbered schema migrations (``storage/migrations/NNNN_name.sql``), applied in order.

Contract: :func:`migrate` runs on the connection's own thread, before anything else uses the
database. Each migration file runs in its own ``BEGIN IMMEDIATE`` transaction together with
the ``schema_version`` row that records it, so a crash leaves the database at the previous
version, never half-migrated. A database whose recorded version is newer than the newest file
raises :class:`~mar_desktop.errors.SchemaTooNew` and nothing is changed.

A migration that changes the shape of projections sets the ``rebuild_projections`` flag in
``storage_flags``; once the schema is current the runner rebuilds every projection from the
ledger and clears the flag in one transaction (so a crash just means it happens next time). The
same rebuild runs when the ledger holds entries of a newer app version that an older version
kept unapplied (``newer_entries_held``) and this is another version: it may know them now.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mar_desktop import __version__
from mar_desktop.clock import utc_iso
from mar_desktop.errors import SchemaTooNew, StorageError
from storage.database import Connection

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: Path


def available(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every ``NNNN_name.sql`` file in ``directory``, by version. Versions must be 1, 2, 3…"""
    found = []
    for path in directory.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), path.stem, path))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StorageError("The application's database migrations are incomplete.")
    return found


def latest_version(directory: Path = MIGRATIONS_DIR) -> int:
    migrations = available(directory)
    return migrations[-1].version if migrations else 0


def current_version(conn: Connection) -> int:
    """The highest migration applied to this database (0 for a new, empty one)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


UPDATING = (
    "Updating the database for this version of MAR Desktop (step {step} of {steps}). "
    "This happens once and can take a minute; please wait."
)
REBUILDING = "Rebuilding the record views from the ledger (once). Please wait."


def migrate(
    conn: Connection,
    target: int | None = None,
    *,
    directory: Path = MIGRATIONS_DIR,
    on_step: Callable[[str], None] | None = None,
) -> int:
    """Brings the schema to ``target`` (default: the newest). Returns the version reached.

    ``on_step`` (called on this thread, before each step) gets a message for the user when an
    existing database is upgraded (:data:`UPDATING`, then :data:`REBUILDING` if a migration
    asked for it); a new database's migrations are quick and report nothing.

    Raises SchemaTooNew if the database is newer than this code; StorageError if a migration
    fails (that migration is rolled back; earlier ones stay applied).
    """
    migrations = available(directory)
    newest = migrations[-1].version if migrations else 0
    goal = newest if target is None else min(target, newest)
    version = current_version(conn)
    if version > newest:
        raise SchemaTooNew(
            "This database was written by a newer version of MAR Desktop; please update."
        )
    report = on_step if version > 0 else None
    pending = [m for m in migrations if version < m.version <= goal]
    for step, migration in enumerate(pending, start=1):
        if report is not None:
            report(UPDATING.format(step=step, steps=len(pending)))
        _apply(conn, migration)
        version = migration.version
    if version == newest:
        _rebuild_if_flagged(conn, report)
    return version


def _apply(conn: Connection, migration: Migration) -> None:
    sql = migration.path.read_text(encoding="utf-8")
    record = (
        f"{_VERSION_TABLE};\n"
        "INSERT INTO schema_version (version, name, applied_at) "
        f"VALUES ({migration.version}, '{migration.name}', '{utc_iso(datetime.now(UTC))}');\n"
    )
    try:
        # executescript commits any open transaction first, so BEGIN/COMMIT live in the script.
        conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\n;\n{record}COMMIT;")
    except Exception as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StorageError(
            f"Updating the database to version {migration.version} failed; nothing was changed."
        ) from exc


def _rebuild_if_flagged(conn: Connection, report: Callable[[str], None] | None) -> None:
    has_flags = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'storage_flags'"
    ).fetchone()
    if not has_flags:
        return
    from storage.projections import NEWER_HELD, rebuild

    flagged = conn.execute(
        "SELECT 1 FROM storage_flags WHERE name = 'rebuild_projections'"
        " OR (name = ? AND value <> ?)",
        (NEWER_HELD, __version__),
    ).fetchone()
    if not flagged:
        return

    if report is not None:
        report(REBUILDING)
    conn.execute("BEGIN IMMEDIATE")
    try:
        rebuild(conn)
        conn.execute("DELETE FROM storage_flags WHERE name = 'rebuild_projections'")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
