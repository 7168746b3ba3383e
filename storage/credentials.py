"""Account records (signed statements, migration 0010; unsigned version-1 records, 0003) and
device-local sign-in state (throttle: 0003; the last accepted TOTP step: 0009) on the encrypted
database, and the audit-log reader for the audit viewer.

:class:`SqlCredentialStore` implements :class:`mar_desktop.people.ports.CredentialStore`;
:class:`SqlAuditLog` implements :class:`mar_desktop.people.ports.AuditLog`.

Contract: each calling thread gets its own connection (opened on first use from the factory
given, e.g. ``LocalStore.connect_reader``); writes are single ``BEGIN IMMEDIATE`` transactions,
committed durably (``synchronous=FULL``) before returning. Account versions are append-only
(the triggers refuse UPDATE/DELETE; no code path tries); each is verified as authorised
(:func:`mar_desktop.people.authority.check_next`) in the transaction that stores it. SQLite
failures become :class:`~mar_desktop.errors.StorageError` subclasses whose messages hold no
data; a record is never part of an error message or a log line.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlcipher3

from mar_desktop.clock import Clock, SystemClock, parse_utc, utc_iso
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.errors import StorageError
from mar_desktop.people.authority import Origin
from mar_desktop.people.credentials import CredentialRecord
from mar_desktop.people.statements import AccountRecord, HeldRecord
from mar_desktop.people.throttle import ThrottleState
from mar_desktop.signing import PublicKey
from storage import account_chain
from storage.database import Connection, PerThreadConnections
from storage.database_errors import translate

_T = TypeVar("_T")


def _storage(exc: BaseException) -> BaseException:
    return translate(exc) or StorageError("The sign-in data could not be read or written.")


class SqlCredentialStore:
    """See the module docstring."""

    def __init__(
        self, open_connection: Callable[[], Connection], clock: Clock | None = None
    ) -> None:
        self._conns = PerThreadConnections(open_connection)
        self._clock = clock or SystemClock()

    def close(self) -> None:
        self._conns.close()

    # ---- account records ----------------------------------------------------------------------
    def latest(self, user_id: str) -> HeldRecord | None:
        """The account's version in force (see :mod:`storage.account_chain`), or None."""
        try:
            return account_chain.head(self._conns.conn(), user_id)
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    def history(self, user_id: str) -> list[HeldRecord]:
        """The versions in force, oldest first (superseded ones left out)."""
        try:
            return account_chain.chain(self._conns.conn(), user_id)
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    def append(self, record: AccountRecord) -> None:
        """Stores a version made on this tablet, after :func:`check_next` (origin LOCAL).
        Raises Conflict unless it follows the head, CredentialRefused if not authorised."""
        self._in_transaction(
            lambda conn: account_chain.verify_and_insert(
                conn, record, origin=Origin.LOCAL, server_key=None, now=self._clock.now()
            )
        )

    def store_synced(self, record: AccountRecord, server_key: PublicKey) -> bool:
        """Keeps a version received from the server after verifying it (origin SYNCED: admin
        changes must carry the server's co-signature). False if already held. Raises
        CredentialRefused (nothing stored) when it does not verify."""
        return self._in_transaction(
            lambda conn: account_chain.verify_and_insert(
                conn, record, origin=Origin.SYNCED, server_key=server_key, now=self._clock.now()
            )
        )

    def store_legacy(self, record: CredentialRecord) -> bool:
        """Keeps an unsigned version-1 record the server held from before signed statements
        (the server refuses new ones); False if that version from that device is held."""

        def insert(conn: Connection) -> bool:
            exists = conn.execute(
                "SELECT 1 FROM credential_records"
                " WHERE user_id = ? AND version = ? AND updated_by_device = ?",
                (record.user_id, record.version, record.updated_by_device),
            ).fetchone()
            if not exists:
                conn.execute(
                    "INSERT INTO credential_records (user_id, version, updated_at,"
                    " updated_by_device, record, stored_at, source)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'sync')",
                    (
                        record.user_id,
                        record.version,
                        utc_iso(record.updated_at),
                        record.updated_by_device,
                        record.to_canonical(),
                        utc_iso(self._clock.now()),
                    ),
                )
            return not exists

        return self._in_transaction(insert)

    def _in_transaction(self, work: Callable[[Connection], _T]) -> _T:
        conn = self._conns.conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    # ---- throttle state -----------------------------------------------------------------------
    def throttle_state(self, user_id: str) -> ThrottleState:
        row = self._query_one(
            "SELECT failures, last_failure_at, locked_at FROM auth_throttle WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return ThrottleState()
        return ThrottleState(int(row[0]), _time(row[1]), _time(row[2]))

    def save_throttle_state(self, user_id: str, state: ThrottleState) -> None:
        conn = self._conns.conn()
        try:
            conn.execute(
                "INSERT INTO auth_throttle (user_id, failures, last_failure_at, locked_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
                " failures = excluded.failures, last_failure_at = excluded.last_failure_at,"
                " locked_at = excluded.locked_at",
                (
                    user_id,
                    state.failures,
                    _iso(state.last_failure_at),
                    _iso(state.locked_at),
                ),
            )
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    # ---- last accepted TOTP step ----------------------------------------------------------------
    def last_totp_step(self, user_id: str) -> int | None:
        row = self._query_one("SELECT step FROM totp_last_step WHERE user_id = ?", (user_id,))
        return None if row is None else int(row[0])

    def save_totp_step(self, user_id: str, step: int) -> None:
        conn = self._conns.conn()
        try:
            conn.execute(
                "INSERT INTO totp_last_step (user_id, step) VALUES (?, ?) ON CONFLICT (user_id)"
                " DO UPDATE SET step = max(step, excluded.step)",
                (user_id, step),
            )
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    # ---- helpers ------------------------------------------------------------------------------
    def _query(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        try:
            return list(self._conns.conn().execute(sql, args).fetchall())
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    def _query_one(self, sql: str, args: tuple[Any, ...]) -> Any:
        rows = self._query(sql, args)
        return rows[0] if rows else None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc_iso(moment)


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_utc(text)


class SqlAuditLog:
    """Reads the ``audit`` table (owned by the ledger) for the audit viewer."""

    def __init__(self, open_connection: Callable[[], Connection]) -> None:
        self._conns = PerThreadConnections(open_connection)

    def close(self) -> None:
        self._conns.close()

    def audit_entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Collection[str] | None = None,
        limit: int | None = None,
        user_id: str | None = None,
        entity_id: str | None = None,
        entity_type: str | None = None,
        exclude_kinds: Collection[str] = (),
    ) -> list[Entry]:
        """See :class:`mar_desktop.people.ports.AuditLog`. The body filters read the stored JSON
        in SQL (``json_extract``): no index, but one pass in C with only the matching rows, at
        most ``limit``, brought into Python (a year's 243k entries used to be parsed here whole
        to keep 1,000: 7.5 s and ~800 MB)."""
        where: list[str] = []
        args: list[Any] = []
        if since is not None:
            where.append("recorded_at >= ?")
            args.append(utc_iso(since.astimezone(UTC)))
        if until is not None:
            where.append("recorded_at < ?")
            args.append(utc_iso(until.astimezone(UTC)))
        if kinds is not None:
            if not kinds:
                return []
            where.append(f"kind IN ({', '.join('?' for _ in kinds)})")
            args.extend(sorted(kinds))
        if exclude_kinds:
            where.append(f"kind NOT IN ({', '.join('?' for _ in exclude_kinds)})")
            args.extend(sorted(exclude_kinds))
        for field, value in (
            ("user_id", user_id), ("entity_id", entity_id), ("entity_type", entity_type)
        ):
            if value is not None:
                where.append(f"json_extract(CAST(raw AS TEXT), '$.body.{field}') = ?")
                args.append(value)
        sql = "SELECT raw FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY recorded_at DESC, device_id, seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        try:
            rows = self._conns.conn().execute(sql, tuple(args)).fetchall()
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None
        return [parse_raw(bytes(row[0])) for row in rows]
