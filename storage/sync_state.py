"""The tablet's sync bookkeeping on the encrypted database (migration 0004).

:class:`SyncState` keeps: the server this tablet is enrolled with (URL, server id, server device
id, server public key, optional SPKI pin and private CA), named cursors (feed position, credential
positions, acknowledged sequence numbers), the quarantine (entries held back, with the reason)
and flags (``fork``). It also answers the reads the sync engine needs from the ledger tables
(this device's entries above a sequence number, a device's chain head, local credential versions).

Contract: each calling thread gets its own connection (opened on first use from the factory,
e.g. ``LocalStore.connect_reader``); every write is one short transaction committed before the
method returns. This module never writes the ``ledger``/``audit`` tables (the ledger writer
does); it may add rows to ``device_keys`` (keys announced by the server, never changed).
SQLite failures become :class:`~mar_desktop.errors.StorageError` subclasses without data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import sqlcipher3

from mar_desktop.clock import Clock, SystemClock, utc_iso
from mar_desktop.envelope import GENESIS, Chain
from mar_desktop.errors import StorageError
from storage import history
from storage.database import Connection, PerThreadConnections
from storage.database_errors import translate
from storage.ledger import DeviceIdentity, load_identity
from storage.projections import note_newer_held
from storage.projections_reference import register_device_key

FEED = "feed"
CREDENTIALS = "credentials"
CREDENTIALS_PUSHED = "credentials_pushed"
"""Unsigned version-1 records pushed (before migration 0010; no longer moves)."""
ACCOUNTS_PUSHED = "accounts_pushed"
"""Signed account records made on this tablet and pushed (``account_records.id``)."""
FLAG_FORK = "fork"


def acked_cursor(chain: Chain) -> str:
    return f"acked_{chain}"


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """The server a tablet is enrolled with."""

    url: str
    server_id: str
    server_device_id: str
    server_public_key: str
    pin: str | None = None
    ca_pem: str | None = None
    enrolled_at: str = ""


@dataclass(frozen=True, slots=True)
class Quarantined:
    direction: str
    entry_key: str
    device_id: str | None
    chain: str | None
    seq: int | None
    code: str
    reason: str
    first_at: str
    last_at: str


def save_server(conn: Connection, info: ServerInfo) -> None:
    """Stores the enrolment (inside the caller's transaction; used when the database is made)."""
    conn.execute(
        "INSERT INTO sync_server (singleton, url, server_id, server_device_id, "
        "server_public_key, pin, ca_pem, enrolled_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
        (
            info.url,
            info.server_id,
            info.server_device_id,
            info.server_public_key,
            info.pin,
            info.ca_pem,
            info.enrolled_at,
        ),
    )


class SyncState:
    """See the module docstring. Safe to share between threads (one connection each)."""

    def __init__(
        self, open_connection: Callable[[], Connection], clock: Clock | None = None
    ) -> None:
        self._conns = PerThreadConnections(open_connection)
        self._clock = clock or SystemClock()

    # ---- plumbing -----------------------------------------------------------------------------
    def _conn(self) -> Connection:
        return self._conns.conn()

    def close(self) -> None:
        """Closes the calling thread's connection."""
        self._conns.close()

    def _now(self) -> str:
        return utc_iso(self._clock.now().astimezone(UTC))

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return list(self._conn().execute(sql, args).fetchall())
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    def _write(self, fn: Callable[[Connection], None]) -> None:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    # ---- enrolment ----------------------------------------------------------------------------
    def server(self) -> ServerInfo | None:
        row = self._one(
            "SELECT url, server_id, server_device_id, server_public_key, pin, ca_pem, "
            "enrolled_at FROM sync_server WHERE singleton = 1"
        )
        return None if row is None else ServerInfo(*row)

    def identity(self) -> DeviceIdentity:
        """This device's id, facility and signing key (for the sync sign-in)."""
        try:
            return load_identity(self._conn())
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    # ---- cursors and flags --------------------------------------------------------------------
    def cursor(self, name: str) -> tuple[int, str | None]:
        row = self._one("SELECT value, marker FROM sync_cursor WHERE name = ?", (name,))
        return (0, None) if row is None else (int(row[0]), row[1])

    def set_cursor(self, name: str, value: int, marker: str | None = None) -> None:
        now = self._now()
        self._write(
            lambda c: c.execute(
                "INSERT INTO sync_cursor (name, value, marker, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                "marker = excluded.marker, updated_at = excluded.updated_at",
                (name, value, marker, now),
            )
        )

    def last_cursor_move(self) -> str | None:
        """When any sync cursor last moved (device UTC text), or None."""
        row = self._one("SELECT MAX(updated_at) FROM sync_cursor")
        return None if row is None or row[0] is None else str(row[0])

    def note_newer_held(self, version: str) -> None:
        """Records that entries of a newer app version are held unapplied by ``version`` (the
        next app version to open the store re-applies them, see :mod:`storage.migrate`)."""
        self._write(lambda c: note_newer_held(c, version))

    def flag(self, name: str) -> str | None:
        row = self._one("SELECT value FROM sync_flags WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    def set_flag(self, name: str, value: str) -> None:
        now = self._now()
        self._write(
            lambda c: c.execute(
                "INSERT INTO sync_flags (name, value, at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value, at = excluded.at",
                (name, value, now),
            )
        )

    def clear_flag(self, name: str) -> None:
        self._write(lambda c: c.execute("DELETE FROM sync_flags WHERE name = ?", (name,)))

    # ---- quarantine ---------------------------------------------------------------------------
    def quarantine(
        self,
        direction: str,
        entry_key: str,
        *,
        code: str,
        reason: str,
        device_id: str | None = None,
        chain: str | None = None,
        seq: int | None = None,
        raw: bytes | None = None,
    ) -> bool:
        """Holds an entry back with its reason; True if it was not quarantined before."""
        now = self._now()
        fresh = self._one(
            "SELECT 1 FROM sync_quarantine WHERE direction = ? AND entry_key = ?",
            (direction, entry_key),
        ) is None
        self._write(
            lambda c: c.execute(
                "INSERT INTO sync_quarantine (direction, entry_key, device_id, chain, seq, code, "
                "reason, raw, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (direction, entry_key) DO UPDATE SET code = excluded.code, "
                "reason = excluded.reason, last_at = excluded.last_at",
                (direction, entry_key, device_id, chain, seq, code, reason, raw, now, now),
            )
        )
        return fresh

    def quarantined(self) -> list[Quarantined]:
        rows = self._rows(
            "SELECT direction, entry_key, device_id, chain, seq, code, reason, first_at, last_at "
            "FROM sync_quarantine ORDER BY first_at, entry_key"
        )
        return [Quarantined(*r) for r in rows]

    def quarantine_count(self) -> int:
        return int(self._one("SELECT count(*) FROM sync_quarantine")[0])

    # ---- ledger reads the engine needs --------------------------------------------------------
    def own_entries_after(
        self, device_id: str, chain: Chain, after_seq: int, limit: int
    ) -> list[tuple[int, bytes]]:
        """``(seq, raw)`` of the device's ``chain`` entries with ``seq > after_seq``, by seq."""
        table = _table(chain)
        rows = self._rows(
            f"SELECT seq, raw FROM {table} WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (device_id, after_seq, limit),
        )
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def digest_at(self, device_id: str, chain: Chain, seq: int) -> str | None:
        row = self._one(
            f"SELECT digest FROM {_table(chain)} WHERE device_id = ? AND seq = ?", (device_id, seq)
        )
        return None if row is None else str(row[0])

    def head(self, device_id: str, chain: Chain = "ledger") -> tuple[int, str]:
        """(seq, digest) of a device's last stored entry of ``chain``; (0, GENESIS) if none.
        On a tablet that started from a snapshot, a ledger chain whose entries up to its anchor
        are not all held continues from the anchor (:mod:`storage.history`)."""
        row = self._one(
            f"SELECT seq, digest FROM {_table(chain)} WHERE device_id = ? "
            "ORDER BY seq DESC LIMIT 1",
            (device_id,),
        )
        held = (0, GENESIS) if row is None else (int(row[0]), str(row[1]))
        if chain == "ledger":
            anchor = self._one(
                "SELECT anchor_seq, anchor_digest FROM sync_chain_anchor WHERE device_id = ?",
                (device_id,),
            )
            if anchor is not None and int(anchor[0]) > held[0]:
                return int(anchor[0]), str(anchor[1])
        return held

    # ---- a tablet started from a snapshot (storage.history) ---------------------------------
    def backfill(self) -> history.Backfill | None:
        """The snapshot this tablet started from and how far backfill has got (None: it read
        the whole feed)."""
        try:
            return history.backfill(self._conn())
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    def anchors(self) -> dict[str, history.Anchor]:
        try:
            return history.anchors(self._conn())
        except sqlcipher3.Error as exc:
            raise _storage(exc) from None

    def held_ids(self, ids: list[str]) -> set[str]:
        """Which of these entry ids the ledger holds."""
        if not ids:
            return set()
        marks = ", ".join("?" for _ in ids)
        rows = self._rows(f"SELECT id FROM ledger WHERE id IN ({marks})", tuple(ids))
        return {str(r[0]) for r in rows}

    def finish_backfill(self, status: str, detail: str | None) -> None:
        now = self._now()
        self._write(lambda c: history.finish(c, status, detail, now))

    def count_after(self, device_id: str, chain: Chain, after_seq: int) -> int:
        row = self._one(
            f"SELECT count(*) FROM {_table(chain)} WHERE device_id = ? AND seq > ?",
            (device_id, after_seq),
        )
        return int(row[0])

    def device_keys(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._rows("SELECT device_id, public_key FROM device_keys")}

    def register_keys(self, keys: Iterable[tuple[str, str, str]]) -> None:
        """Adds ``(device_id, public_key, label)`` announced by the server. A known device with
        a different key raises IntegrityError (nothing stored)."""
        now = self._now()
        items = list(keys)

        def run(conn: Connection) -> None:
            for device_id, public_key, label in items:
                register_device_key(
                    conn, device_id, public_key, label=label, registered_at=now, source="server"
                )

        self._write(run)

    def open_alerts(self) -> int:
        row = self._one(
            "SELECT count(*) FROM alerts al WHERE NOT EXISTS "
            "(SELECT 1 FROM alert_acks k WHERE k.alert_id = al.alert_id)"
        )
        return int(row[0])

    # ---- credentials --------------------------------------------------------------------------
    def local_credentials_after(self, rowid: int, limit: int) -> list[tuple[int, bytes]]:
        """``(id, canonical record)`` of signed account versions made on this tablet."""
        rows = self._rows(
            "SELECT id, record FROM account_records WHERE source = 'local' AND id > ? "
            "ORDER BY id LIMIT ?",
            (rowid, limit),
        )
        return [(int(r[0]), bytes(r[1])) for r in rows]


def _table(chain: Chain) -> str:
    if chain not in ("ledger", "audit"):
        raise ValueError("unknown chain")
    return chain


def _storage(exc: BaseException) -> BaseException:
    return translate(exc) or StorageError("The sync state could not be read or written.")
