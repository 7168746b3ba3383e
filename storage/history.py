"""How much of the facility's history a tablet that started from a snapshot holds (migration
0010; docs/architecture.md#a-new-tablet).

Contract: the functions taking a ``conn`` run inside the caller's transaction (the ledger
writer's, so the bookkeeping commits with the entries it describes, see
:meth:`storage.ledger.Ledger.ingest`), or read on the caller's connection. None of them
writes a ledger or audit row; none deletes anything. A store without a ``sync_snapshot`` row
read the whole feed: its history is complete (:func:`backfill` returns None).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mar_desktop.clock import parse_utc
from storage.database import Connection

BACKFILLING = "backfilling"
COMPLETE = "complete"
MISMATCH = "mismatch"


@dataclass(frozen=True, slots=True)
class Backfill:
    """The ``sync_snapshot`` row."""

    manifest: str
    checkpoint: int
    tail_after: int
    history_from: int
    before: int
    complete_from: str
    status: str
    detail: str | None
    started_at: str
    finished_at: str | None

    @property
    def done(self) -> bool:
        return self.status != BACKFILLING

    def progress(self) -> float:
        """Share of the history window stored, 0..1."""
        span = self.tail_after - self.history_from
        if self.done or span <= 0:
            return 1.0
        return min(1.0, max(0.0, (self.tail_after + 1 - self.before) / span))


@dataclass(frozen=True, slots=True)
class Anchor:
    """A ``sync_chain_anchor`` row (see the migration)."""

    device_id: str
    anchor_seq: int
    anchor_digest: str
    low_seq: int
    low_prev: str


def start(
    conn: Connection,
    *,
    manifest: str,
    checkpoint: int,
    tail_after: int,
    history_from: int,
    complete_from: str,
    anchors: list[tuple[str, int, str]],
    now: str,
) -> None:
    """Records the snapshot a new tablet starts from and each device's anchor
    ``(device_id, seq, digest)`` (the run held above it starts right after it)."""
    conn.execute(
        "INSERT INTO sync_snapshot (singleton, manifest, checkpoint, tail_after, history_from, "
        "backfill_before, complete_from, status, started_at) "
        "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            manifest,
            checkpoint,
            tail_after,
            history_from,
            tail_after + 1,
            complete_from,
            BACKFILLING if history_from < tail_after else COMPLETE,
            now,
        ),
    )
    conn.executemany(
        "INSERT INTO sync_chain_anchor (device_id, anchor_seq, anchor_digest, low_seq, "
        "low_prev) VALUES (?, ?, ?, ?, ?)",
        [(device, seq, digest, seq + 1, digest) for device, seq, digest in anchors],
    )


def advance(
    conn: Connection, before: int, complete_from: str, lows: dict[str, tuple[int, str]]
) -> None:
    """Backfill stored every entry at positions ``>= before``: moves the cursor, the time from
    which history is complete, and each named device's ``(low_seq, low_prev)``."""
    conn.execute(
        "UPDATE sync_snapshot SET backfill_before = ?, complete_from = ? WHERE singleton = 1",
        (before, complete_from),
    )
    conn.executemany(
        "UPDATE sync_chain_anchor SET low_seq = ?, low_prev = ? WHERE device_id = ?",
        [(seq, prev, device) for device, (seq, prev) in lows.items()],
    )


def finish(conn: Connection, status: str, detail: str | None, now: str) -> None:
    """Backfill ended: ``complete`` or ``mismatch`` (with what disagreed)."""
    conn.execute(
        "UPDATE sync_snapshot SET status = ?, detail = ?, finished_at = ? WHERE singleton = 1",
        (status, detail, now),
    )


def backfill(conn: Connection) -> Backfill | None:
    row = conn.execute(
        "SELECT manifest, checkpoint, tail_after, history_from, backfill_before, complete_from, "
        "status, detail, started_at, finished_at FROM sync_snapshot WHERE singleton = 1"
    ).fetchone()
    return None if row is None else Backfill(*row)


def anchors(conn: Connection) -> dict[str, Anchor]:
    rows = conn.execute(
        "SELECT device_id, anchor_seq, anchor_digest, low_seq, low_prev FROM sync_chain_anchor"
    ).fetchall()
    return {r[0]: Anchor(*r) for r in rows}


def complete_from(conn: Connection) -> datetime | None:
    """The time from which this tablet holds the facility's whole ledger history; None when it
    holds all of it (it read the whole feed)."""
    row = conn.execute("SELECT complete_from FROM sync_snapshot WHERE singleton = 1").fetchone()
    return None if row is None else parse_utc(str(row[0]))
