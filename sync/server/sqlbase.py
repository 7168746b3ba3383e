"""The SQL both server stores share: one set of queries, two drivers (see :mod:`.store`).

Queries are written with ``?`` placeholders; the PostgreSQL store rewrites them to ``%s``.
Subclasses supply connections, the transaction bracket and the facility lock.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Generic, TypeVar, cast

from mar_desktop.envelope import Chain
from mar_desktop.errors import StorageError
from sync.server.secrets_at_rest import SecretBox, is_sealed
from sync.server.store import (
    AuditRow,
    CredentialRow,
    DeviceRecord,
    FeedHead,
    ForkRecord,
    Head,
    NewEntry,
    RevokeMode,
    StoredEntry,
)

C = TypeVar("C")

_ENTRY_COLS = "facility_id, device_id, chain, seq, pos, entry_id, kind, digest, recorded_at, raw"
ENTRY_INSERT_COLS = f"{_ENTRY_COLS}, stored_at"
"""Column order of the rows given to :meth:`SqlStore.insert_entry_rows`."""
_DEVICE_COLS = (
    "device_id, facility_id, public_key, label, is_server, enrolled_at, revoked_at, "
    "revoke_mode, retired_at"
)
_NEW_DEVICE_COLS = "device_id, facility_id, public_key, label, is_server, enrolled_at"
_AUDIT_COLS = "at, facility_id, device_id, action, address, detail"


_FEED_PAGE = "WHERE facility_id = ? AND chain = ? AND pos > ? ORDER BY pos LIMIT ?"
"""A page of a facility's chain after a position (parameters: facility, chain, after, limit)."""

HEAD_OF_CHAIN = (
    "SELECT seq, digest FROM entries WHERE device_id = ? AND chain = ? ORDER BY seq DESC LIMIT 1"
)
"""A device chain's last entry: the primary key's last row for (device_id, chain)."""


class Pool(Generic[C]):
    """A small thread-safe pool of connections, created on demand up to ``size``."""

    def __init__(self, factory: Callable[[], C], close: Callable[[C], None], size: int) -> None:
        self._factory = factory
        self._close = close
        self._idle: queue.LifoQueue[C] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[C]:
        if not self._slots.acquire(timeout=60):
            raise StorageError("the server database is busy; try again")
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._factory()
            ok = False
            try:
                yield conn
                ok = True
            finally:
                if ok and not self._closed:
                    self._idle.put(conn)
                else:
                    self._close(conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._close(self._idle.get_nowait())
            except queue.Empty:
                return


def _entry(row: Sequence[Any]) -> StoredEntry:
    return StoredEntry(
        facility_id=row[0],
        device_id=row[1],
        chain=row[2],
        seq=int(row[3]),
        pos=int(row[4]),
        entry_id=row[5],
        kind=row[6],
        digest=row[7],
        recorded_at=row[8],
        raw=bytes(row[9]),
    )


def _device(row: Sequence[Any]) -> DeviceRecord:
    return DeviceRecord(
        device_id=row[0],
        facility_id=row[1],
        public_key=row[2],
        label=row[3],
        is_server=bool(row[4]),
        enrolled_at=row[5],
        revoked_at=row[6],
        revoke_mode=row[7],
        retired_at=row[8],
    )


def _audit_params(row: AuditRow) -> tuple[Any, ...]:
    return (row.at, row.facility_id, row.device_id, row.action, row.address, row.detail)


class SqlTxn:
    """A write transaction on one connection (see :class:`sync.server.store.WriteTxn`)."""

    def __init__(self, store: SqlStore[Any], conn: Any) -> None:
        self._store = store
        self._conn = conn

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return cast(list[Any], self._store.run(self._conn, sql, params).fetchall())

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._store.run(self._conn, sql, params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._store.run(self._conn, sql, params).fetchone()

    def lock_facility(self, facility_id: str) -> None:
        if not self._store.lock_facility(self._conn, facility_id):
            raise StorageError("unknown facility")

    def add_facility(self, facility_id: str, name: str, created_at: str) -> None:
        self._exec(
            "INSERT INTO facilities (facility_id, name, created_at) VALUES (?, ?, ?)",
            (facility_id, name, created_at),
        )

    def add_device(self, device: DeviceRecord) -> None:
        self._exec(
            # a new device row is never revoked: the revocation columns keep their NULL
            f"INSERT INTO devices ({_NEW_DEVICE_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
            (
                device.device_id,
                device.facility_id,
                device.public_key,
                device.label,
                int(device.is_server),
                device.enrolled_at,
            ),
        )

    def revoke_device(self, device_id: str, at: str, mode: RevokeMode) -> bool:
        # A retiring tablet may become lost (refused from ``at``); nothing else changes a
        # revocation, and a retired or lost tablet stays as it is.
        stricter = " OR revoke_mode = 'retire'" if mode == "lost" else ""
        row = self._one(
            "UPDATE devices SET revoked_at = ?, revoke_mode = ? WHERE device_id = ? "
            f"AND is_server = 0 AND retired_at IS NULL AND (revoked_at IS NULL{stricter}) "
            "RETURNING device_id",
            (at, mode, device_id),
        )
        return row is not None

    def confirm_retired(self, device_id: str, at: str) -> bool:
        row = self._one(
            "UPDATE devices SET retired_at = ? WHERE device_id = ? AND revoke_mode = 'retire' "
            "AND retired_at IS NULL RETURNING device_id",
            (at, device_id),
        )
        return row is not None

    def add_audit(self, row: AuditRow) -> None:
        self._exec(
            f"INSERT INTO server_audit ({_AUDIT_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
            _audit_params(row),
        )

    def add_enrol_code(
        self, code_hash: str, facility_id: str, created_at: str, expires_at: str
    ) -> None:
        self._exec(
            "INSERT INTO enrol_codes (code_hash, facility_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (code_hash, facility_id, created_at, expires_at),
        )

    def claim_enrol_code(self, code_hash: str, now: str, device_id: str) -> str | None:
        row = self._one(
            "UPDATE enrol_codes SET used_at = ?, used_by = ? WHERE code_hash = ? "
            "AND used_at IS NULL AND expires_at > ? RETURNING facility_id",
            (now, device_id, code_hash, now),
        )
        return None if row is None else str(row[0])

    def server_device_id(self, facility_id: str) -> str | None:
        row = self._one(
            "SELECT device_id FROM devices WHERE facility_id = ? AND is_server = 1",
            (facility_id,),
        )
        return None if row is None else str(row[0])

    def head(self, device_id: str, chain: Chain) -> Head:
        row = self._one(
            "SELECT seq, digest FROM entries WHERE device_id = ? AND chain = ? "
            "ORDER BY seq DESC LIMIT 1",
            (device_id, chain),
        )
        return Head() if row is None else Head(int(row[0]), row[1])

    def stored_digests(self, device_id: str, chain: Chain, seqs: Sequence[int]) -> dict[int, str]:
        if not seqs:
            return {}
        rows = self._all(
            "SELECT seq, digest FROM entries WHERE device_id = ? AND chain = ? "
            "AND seq >= ? AND seq <= ?",
            (device_id, chain, min(seqs), max(seqs)),
        )
        wanted = set(seqs)
        return {int(r[0]): r[1] for r in rows if int(r[0]) in wanted}

    def next_pos(self, facility_id: str, chain: Chain) -> int:
        # ORDER BY … LIMIT 1, not MAX(): without fresh statistics PostgreSQL planned MAX(pos) as
        # a scan of the facility's whole feed (2 ms per 5,000 entries, on every push).
        row = self._one(
            "SELECT pos FROM entries WHERE facility_id = ? AND chain = ? ORDER BY pos DESC LIMIT 1",
            (facility_id, chain),
        )
        return 1 if row is None else int(row[0]) + 1

    def insert_entries(self, rows: Sequence[NewEntry]) -> None:
        if not rows:
            return
        stamp = self._store.now_text()
        self._store.insert_entry_rows(
            self._conn,
            [
                (
                    r.facility_id,
                    r.device_id,
                    r.chain,
                    r.seq,
                    r.pos,
                    r.entry_id,
                    r.kind,
                    r.digest,
                    r.recorded_at,
                    r.raw,
                    stamp,
                )
                for r in rows
            ],
        )

    def record_fork(self, fork: ForkRecord) -> bool:
        key = (fork.device_id, fork.chain, fork.seq, fork.offered_digest)
        seen = self._one(
            "SELECT 1 FROM forks WHERE device_id = ? AND chain = ? AND seq = ? "
            "AND offered_digest = ?",
            key,
        )
        if seen is not None:
            return False
        self._exec(
            "INSERT INTO forks (device_id, chain, seq, offered_digest, detected_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (*key, fork.detected_at),
        )
        return True

    def claim_alert(self, facility_id: str, alert_type: str, subject: str, at: str) -> bool:
        row = self._one(
            "INSERT INTO alert_keys (facility_id, alert_type, subject, raised_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (facility_id, alert_type, subject, at),
        )
        return row is not None

    def credential(self, facility_id: str, user_id: str, version: int) -> CredentialRow | None:
        row = self._one(
            "SELECT pos, user_id, version, record, stored_at FROM credentials "
            "WHERE facility_id = ? AND user_id = ? AND version = ?",
            (facility_id, user_id, version),
        )
        return None if row is None else self._store.credential_row(facility_id, row, self._conn)

    def latest_credential(self, facility_id: str, user_id: str) -> CredentialRow | None:
        row = self._one(
            "SELECT pos, user_id, version, record, stored_at FROM credentials "
            "WHERE facility_id = ? AND user_id = ? ORDER BY version DESC LIMIT 1",
            (facility_id, user_id),
        )
        return None if row is None else self._store.credential_row(facility_id, row, self._conn)

    def next_credential_pos(self, facility_id: str) -> int:
        row = self._one("SELECT MAX(pos) FROM credentials WHERE facility_id = ?", (facility_id,))
        return 1 if row is None or row[0] is None else int(row[0]) + 1

    def insert_credential(self, facility_id: str, row: CredentialRow) -> None:
        self._exec(
            "INSERT INTO credentials (facility_id, user_id, version, pos, record, stored_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                facility_id,
                row.user_id,
                row.version,
                row.pos,
                self._store.sealed(facility_id, row, self._conn),
                row.stored_at,
            ),
        )


class SqlStore(Generic[C]):
    """Shared implementation of :class:`sync.server.store.Store`; see the two subclasses."""

    url_for_display = ""

    secrets: SecretBox | None = None
    """The credential secrets' data key once :meth:`unlock_secrets` ran (None before)."""

    def __init__(self, pool: Pool[C]) -> None:
        self._pool = pool
        self._secrets_key: bytes | None = None
        self._secrets_lock = threading.Lock()

    # ---- driver hooks -------------------------------------------------------------------------
    def run(self, conn: C, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def run_many(self, conn: C, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def insert_entry_rows(self, conn: C, rows: Sequence[Sequence[Any]]) -> None:
        """Inserts ``entries`` rows (:data:`ENTRY_INSERT_COLS` order) in the open transaction.

        Plain INSERTs by default; a driver may use a faster bulk path with the same constraints.
        """
        self.run_many(
            conn,
            f"INSERT INTO entries ({ENTRY_INSERT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def transaction(self, conn: C) -> AbstractContextManager[None]:
        raise NotImplementedError

    def lock_facility(self, conn: C, facility_id: str) -> bool:
        raise NotImplementedError

    def now_text(self) -> str:
        from datetime import UTC, datetime

        from mar_desktop.clock import utc_iso

        return utc_iso(datetime.now(UTC))

    # ---- Store --------------------------------------------------------------------------------
    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def write(self) -> Iterator[SqlTxn]:
        with self._pool.connection() as conn, self.transaction(conn):
            yield SqlTxn(self, conn)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._pool.connection() as conn:
            return cast(list[Any], self.run(conn, sql, params).fetchall())

    def facility_ids(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT facility_id FROM facilities ORDER BY created_at")]

    def facility_name(self, facility_id: str) -> str | None:
        rows = self._rows("SELECT name FROM facilities WHERE facility_id = ?", (facility_id,))
        return rows[0][0] if rows else None

    def get_device(self, device_id: str) -> DeviceRecord | None:
        rows = self._rows(f"SELECT {_DEVICE_COLS} FROM devices WHERE device_id = ?", (device_id,))
        return _device(rows[0]) if rows else None

    def devices(self, facility_id: str | None = None) -> list[DeviceRecord]:
        if facility_id is None:
            rows = self._rows(f"SELECT {_DEVICE_COLS} FROM devices ORDER BY enrolled_at, device_id")
        else:
            rows = self._rows(
                f"SELECT {_DEVICE_COLS} FROM devices WHERE facility_id = ? "
                "ORDER BY enrolled_at, device_id",
                (facility_id,),
            )
        return [_device(r) for r in rows]

    def server_device(self, facility_id: str) -> DeviceRecord | None:
        rows = self._rows(
            f"SELECT {_DEVICE_COLS} FROM devices WHERE facility_id = ? AND is_server = 1",
            (facility_id,),
        )
        return _device(rows[0]) if rows else None

    def heads(self, device_id: str) -> dict[Chain, Head]:
        """The last stored entry of each of the device's chains: one primary-key probe per
        chain, however long the chain (a GROUP BY over the device's entries read all of them:
        ~40 ms for 600k entries, on every tablet's every sync)."""
        heads: dict[Chain, Head] = {"ledger": Head(), "audit": Head()}
        with self._pool.connection() as conn:
            for chain in heads:
                row = self.run(conn, HEAD_OF_CHAIN, (device_id, chain)).fetchone()
                if row is not None:
                    heads[chain] = Head(int(row[0]), row[1])
        return heads

    def feed(self, facility_id: str, chain: Chain, after: int, limit: int) -> list[StoredEntry]:
        rows = self._rows(
            f"SELECT {_ENTRY_COLS} FROM entries {_FEED_PAGE}", (facility_id, chain, after, limit)
        )
        return [_entry(r) for r in rows]

    def feed_heads(self, facility_id: str, chain: Chain, after: int, limit: int) -> list[FeedHead]:
        rows = self._rows(
            f"SELECT pos, device_id, entry_id, kind, digest, recorded_at FROM entries {_FEED_PAGE}",
            (facility_id, chain, after, limit),
        )
        return [FeedHead(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def last_pos(self, facility_id: str, chain: Chain) -> int:
        rows = self._rows(
            "SELECT pos FROM entries WHERE facility_id = ? AND chain = ? ORDER BY pos DESC LIMIT 1",
            (facility_id, chain),
        )
        return int(rows[0][0]) if rows else 0

    def entries_of(self, device_id: str, chain: Chain) -> Iterator[StoredEntry]:
        after, page = 0, 2000
        while True:
            rows = self._rows(
                f"SELECT {_ENTRY_COLS} FROM entries WHERE device_id = ? AND chain = ? "
                "AND seq > ? ORDER BY seq LIMIT ?",
                (device_id, chain, after, page),
            )
            for row in rows:
                yield _entry(row)
            if len(rows) < page:
                return
            after = int(rows[-1][3])

    raw_contains = "instr(raw, ?) > 0"
    """SQL true when an entry's bytes contain the parameter's bytes (PostgreSQL overrides)."""

    def entries_mentioning(
        self, facility_id: str, chain: Chain, needle: bytes
    ) -> list[StoredEntry]:
        rows = self._rows(
            f"SELECT {_ENTRY_COLS} FROM entries WHERE facility_id = ? AND chain = ? "
            f"AND {self.raw_contains} ORDER BY pos",
            (facility_id, chain, needle),
        )
        return [_entry(r) for r in rows]

    def entries_between(self, facility_id: str, since: str, until: str) -> list[StoredEntry]:
        rows = self._rows(
            f"SELECT {_ENTRY_COLS} FROM entries WHERE facility_id = ? AND recorded_at >= ? "
            "AND recorded_at < ? ORDER BY recorded_at, device_id, chain, seq",
            (facility_id, since, until),
        )
        return [_entry(r) for r in rows]

    def entries_of_kind(self, facility_id: str, device_id: str, kind: str) -> list[StoredEntry]:
        rows = self._rows(
            f"SELECT {_ENTRY_COLS} FROM entries WHERE facility_id = ? AND device_id = ? "
            "AND kind = ? ORDER BY seq",
            (facility_id, device_id, kind),
        )
        return [_entry(r) for r in rows]

    def recorded_at_pos(self, facility_id: str, chain: Chain, pos: int) -> str | None:
        rows = self._rows(
            "SELECT recorded_at FROM entries WHERE facility_id = ? AND chain = ? AND pos = ?",
            (facility_id, chain, pos),
        )
        return str(rows[0][0]) if rows else None

    def point_at(self, device_id: str, chain: Chain, pos: int) -> Head:
        rows = self._rows(
            "SELECT seq, digest FROM entries WHERE device_id = ? AND chain = ? AND pos <= ? "
            "ORDER BY seq DESC LIMIT 1",
            (device_id, chain, pos),
        )
        return Head(int(rows[0][0]), rows[0][1]) if rows else Head()

    def entries_of_kinds(
        self, facility_id: str, device_id: str, kinds: Sequence[str], upto_pos: int
    ) -> list[StoredEntry]:
        if not kinds:
            return []
        # Equality on (facility, device, kind) only, so the planner takes ``entries_by_kind``:
        # with a range on ``pos`` too, SQLite chose the feed index and read every entry of the
        # facility up to ``upto_pos`` (1.7 million for seven years, ~15 s). State entries are
        # few; those after ``upto_pos`` are dropped here.
        marks = ", ".join("?" for _ in kinds)
        rows = self._rows(
            f"SELECT {_ENTRY_COLS} FROM entries WHERE facility_id = ? AND device_id = ? "
            f"AND kind IN ({marks}) ORDER BY seq",
            (facility_id, device_id, *kinds),
        )
        found = [_entry(r) for r in rows]
        return [e for e in found if e.chain == "ledger" and e.pos <= upto_pos]

    def feed_before(
        self, facility_id: str, chain: Chain, before: int, limit: int
    ) -> list[StoredEntry]:
        rows = self._rows(
            f"SELECT {_ENTRY_COLS} FROM entries WHERE facility_id = ? AND chain = ? AND pos < ? "
            "ORDER BY pos DESC LIMIT ?",
            (facility_id, chain, before, limit),
        )
        return [_entry(r) for r in rows]

    def history_days(self, facility_id: str) -> int:
        rows = self._rows(
            "SELECT history_days FROM facilities WHERE facility_id = ?", (facility_id,)
        )
        return int(rows[0][0]) if rows else 400

    def set_history_days(self, facility_id: str, days: int) -> bool:
        with self._pool.connection() as conn, self.transaction(conn):
            row = self.run(
                conn,
                "UPDATE facilities SET history_days = ? WHERE facility_id = ? "
                "RETURNING facility_id",
                (days, facility_id),
            ).fetchone()
        return row is not None

    def credentials(self, facility_id: str, after: int, limit: int) -> list[CredentialRow]:
        rows = self._rows(
            "SELECT pos, user_id, version, record, stored_at FROM credentials "
            "WHERE facility_id = ? AND pos > ? ORDER BY pos LIMIT ?",
            (facility_id, after, limit),
        )
        return [self.credential_row(facility_id, r, lenient=True) for r in rows]

    # ---- credential secrets at rest (sync.server.secrets_at_rest) ------------------------------
    def sealed(self, facility_id: str, row: CredentialRow, conn: C | None = None) -> str:
        """The stored (sealed) form of ``row``'s record. Raises ``StorageError`` when the
        secrets key has not been loaded (:meth:`unlock_secrets`): nothing is stored in clear."""
        return self.box(conn).seal(facility_id, row.user_id, row.version, row.record_json)

    def credential_row(
        self, facility_id: str, row: Sequence[Any], conn: C | None = None, *, lenient: bool = False
    ) -> CredentialRow:
        """A ``credentials`` row (pos, user_id, version, record, stored_at) with its record
        opened. Raises ``StorageError`` when the key is not loaded (or wrong), and for a sealed
        field that does not open, unless ``lenient`` (the feed): then the row keeps its sealed
        text, which no reader parses as a record, so one damaged row is left out of the feed
        instead of stopping it."""
        user_id, version, stored = row[1], int(row[2]), row[3]
        if is_sealed(stored):
            box = self.box(conn)
            try:
                stored = box.open(facility_id, user_id, version, stored)
            except StorageError:
                if not lenient:
                    raise
        return CredentialRow(int(row[0]), user_id, version, stored, row[4])

    def use_secrets_key(self, kek: bytes) -> None:
        """Sets the secrets key; the data key is loaded at :meth:`unlock_secrets` or, failing
        that, at the first credential read or write. No database access."""
        self._secrets_key = kek
        self.secrets = None

    def unlock_secrets(self) -> str:
        """Loads the data key now (see :func:`sync.server.secrets_store.unlock`); returns the
        secrets key id. Raises ``WrongKey`` (nothing written), ``StorageError``."""
        from sync.server.secrets_at_rest import key_id

        if self._secrets_key is None:
            raise StorageError("the server secrets key is not loaded; nothing stored")
        self.box()
        return key_id(self._secrets_key)

    def box(self, conn: C | None = None) -> SecretBox:
        """The data key's box, loading it on first use (inside the caller's transaction on
        ``conn`` when given, so an open write transaction never waits on itself). Raises
        ``StorageError`` when no secrets key was set: nothing is stored in clear."""
        from sync.server.secrets_store import unlock

        if self.secrets is None:
            if self._secrets_key is None:
                raise StorageError("the server secrets key is not loaded; nothing stored")
            with self._secrets_lock:
                if self.secrets is None:
                    unlock(self, self._secrets_key, conn)
        assert self.secrets is not None
        return self.secrets

    def rotate_secrets_key(
        self, old_kek: bytes, new_kek: bytes, audit: Sequence[AuditRow]
    ) -> None:
        from sync.server.secrets_store import rotate

        rotate(self, old_kek, new_kek, audit)

    # ---- the server's own audit ---------------------------------------------------------------
    def add_audit(self, row: AuditRow) -> None:
        with self._pool.connection() as conn, self.transaction(conn):
            self.run(
                conn,
                f"INSERT INTO server_audit ({_AUDIT_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
                _audit_params(row),
            )

    def audit_rows(
        self, facility_id: str | None, since: str | None, until: str | None, limit: int
    ) -> list[AuditRow]:
        where, params = ["at >= ?", "at < ?"], [since or "", until or "~"]
        if facility_id is not None:
            where.append("facility_id = ?")
            params.append(facility_id)
        rows = self._rows(
            f"SELECT {_AUDIT_COLS}, audit_id FROM server_audit WHERE {' AND '.join(where)} "
            "ORDER BY at, audit_id LIMIT ?",
            (*params, limit),
        )
        return [
            AuditRow(
                at=r[0],
                facility_id=r[1],
                device_id=r[2],
                action=r[3],
                address=r[4],
                detail=r[5],
                audit_id=int(r[6]),
            )
            for r in rows
        ]

    # ---- state shared by every server process -------------------------------------------------
    def add_challenge(self, nonce_hash: str, device_id: str, expires_at: str, now: str) -> None:
        self._add_secret("auth_challenges", "nonce_hash", nonce_hash, device_id, expires_at, now)

    def take_challenge(self, nonce_hash: str, now: str) -> str | None:
        with self._pool.connection() as conn, self.transaction(conn):
            row = self.run(
                conn,
                "DELETE FROM auth_challenges WHERE nonce_hash = ? RETURNING device_id, expires_at",
                (nonce_hash,),
            ).fetchone()
        return None if row is None or row[1] <= now else str(row[0])

    def add_token(self, token_hash: str, device_id: str, expires_at: str, now: str) -> None:
        self._add_secret("auth_tokens", "token_hash", token_hash, device_id, expires_at, now)

    def token_device(self, token_hash: str, now: str) -> str | None:
        rows = self._rows(
            "SELECT device_id FROM auth_tokens WHERE token_hash = ? AND expires_at > ?",
            (token_hash, now),
        )
        return str(rows[0][0]) if rows else None

    def forget_tokens(self, device_id: str) -> int:
        with self._pool.connection() as conn, self.transaction(conn):
            rows = self.run(
                conn, "DELETE FROM auth_tokens WHERE device_id = ? RETURNING 1", (device_id,)
            ).fetchall()
        return len(rows)

    def _add_secret(
        self, table: str, key: str, digest: str, device_id: str, expires_at: str, now: str
    ) -> None:
        with self._pool.connection() as conn, self.transaction(conn):
            self.run(conn, f"DELETE FROM {table} WHERE expires_at <= ?", (now,))
            self.run(
                conn,
                f"INSERT INTO {table} ({key}, device_id, expires_at) VALUES (?, ?, ?)",
                (digest, device_id, expires_at),
            )

