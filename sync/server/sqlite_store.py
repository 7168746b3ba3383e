"""The embedded server store: one SQLite file, WAL, ``synchronous=FULL`` (durable commits).

Write transactions are ``BEGIN IMMEDIATE``: SQLite has one writer at a time, which is also the
facility lock. Back up with ``sqlite3 FILE ".backup COPY"`` (or while the server is stopped).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mar_desktop.errors import StorageError
from mar_desktop.private_files import private_file
from sync.server import migrations
from sync.server.sqlbase import Pool, SqlStore


def _connect(path: Path) -> sqlite3.Connection:
    try:
        private_file(path)  # PHI: owner-only (0600 whatever the umask); SQLite gives its WAL
        # and shared-memory files the database file's mode
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open the server database ({type(exc).__name__})") from exc
    return conn


class SqliteStore(SqlStore[sqlite3.Connection]):
    """:class:`sync.server.store.Store` on a SQLite file. Thread-safe (pooled connections)."""

    def __init__(self, path: str | Path, *, pool_size: int = 8) -> None:
        self.path = Path(path)
        self.url_for_display = f"sqlite:{self.path}"
        super().__init__(Pool(lambda: _connect(self.path), lambda c: c.close(), pool_size))

    def run(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StorageError(f"server database error: {exc}") from exc

    def run_many(self, conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise StorageError(f"server database error: {exc}") from exc

    @contextmanager
    def transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        self.run(conn, "BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.run(conn, "COMMIT")

    def lock_facility(self, conn: sqlite3.Connection, facility_id: str) -> bool:
        row = self.run(
            conn, "SELECT 1 FROM facilities WHERE facility_id = ?", (facility_id,)
        ).fetchone()
        return row is not None

    def migrate(self) -> int:
        with self._pool.connection() as conn, self.transaction(conn):
            self.run(
                conn,
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
            )
            done = {r[0] for r in self.run(conn, "SELECT version FROM schema_migrations")}
            newest = max(done, default=0)
            known = max(v for v, _ in migrations.SQLITE)
            if newest > known:
                raise StorageError("the server database was written by a newer mar-server")
            for version, script in migrations.SQLITE:
                if version in done:
                    continue
                for statement in _statements(script):
                    self.run(conn, statement)
                self.run(
                    conn,
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, self.now_text()),
                )
                newest = version
            return newest


def _statements(script: str) -> list[str]:
    """Splits a migration into statements, keeping trigger bodies (``BEGIN … END;``) whole."""
    out: list[str] = []
    buf = ""
    for part in script.split(";"):
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf.strip())
            buf = ""
    return out
