"""Read-only SQL the operations modules need (health probe, metrics, backup manifests).

The :class:`sync.server.store.Store` protocol has no "ping" or aggregate queries, and this
module does not extend it: it runs a few plain ``SELECT`` statements through the store's own
pooled connections (both stores are :class:`sync.server.sqlbase.SqlStore`). Nothing here
writes. Threads: any (the pool is thread-safe). Raises ``StorageError`` when the database cannot
be used, and ``ValidationError`` for a store that is not SQL-backed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mar_desktop import kinds
from mar_desktop.errors import ValidationError
from sync.server.sqlbase import SqlStore
from sync.server.store import Store


def rows(store: Store, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """Runs one read-only query on a pooled connection (``?`` placeholders)."""
    if not isinstance(store, SqlStore):
        raise ValidationError("this operation needs a SQLite or PostgreSQL server store")
    return store._rows(sql, params)


def schema_version(store: Store) -> int:
    """The newest applied migration (0 for a database never migrated). A cheap probe."""
    found = rows(store, "SELECT MAX(version) FROM schema_migrations")
    return int(found[0][0] or 0) if found else 0


def entry_counts(store: Store) -> dict[str, dict[str, int]]:
    """Exact ``facility_id -> chain -> count`` (a full count: for backups, not per scrape)."""
    out: dict[str, dict[str, int]] = {}
    for facility_id, chain, count in rows(
        store, "SELECT facility_id, chain, COUNT(*) FROM entries GROUP BY facility_id, chain"
    ):
        out.setdefault(str(facility_id), {})[str(chain)] = int(count)
    return out


def feed_tops(store: Store, facility_id: str) -> dict[str, int]:
    """``chain -> highest feed position`` of one facility: its entry count (positions are
    gapless from 1), read from the ``(facility_id, chain, pos)`` index, so cheap per scrape."""
    out: dict[str, int] = {}
    for chain in ("ledger", "audit"):
        found = rows(
            store,
            "SELECT MAX(pos) FROM entries WHERE facility_id = ? AND chain = ?",
            (facility_id, chain),
        )
        out[chain] = int(found[0][0] or 0) if found else 0
    return out


def last_stored_at(store: Store, device_id: str) -> str | None:
    """When the device's newest entry (either chain) was stored, RFC 3339 UTC; None if none.
    Reads the two chain heads through the primary key."""
    best: str | None = None
    for chain in ("ledger", "audit"):
        found = rows(
            store,
            "SELECT stored_at FROM entries WHERE device_id = ? AND chain = ? "
            "ORDER BY seq DESC LIMIT 1",
            (device_id, chain),
        )
        if found and (best is None or str(found[0][0]) > best):
            best = str(found[0][0])
    return best


def alerts_raised(store: Store, facility_id: str, server_device_id: str) -> int:
    """How many ``alert.raised`` entries the facility's server device holds (indexed count)."""
    found = rows(
        store,
        "SELECT COUNT(*) FROM entries WHERE facility_id = ? AND device_id = ? AND kind = ?",
        (facility_id, server_device_id, kinds.ALERT_RAISED),
    )
    return int(found[0][0]) if found else 0


def forks_recorded(store: Store) -> int:
    """How many distinct forks the server has recorded (rare; the table is small)."""
    found = rows(store, "SELECT COUNT(*) FROM forks")
    return int(found[0][0]) if found else 0
