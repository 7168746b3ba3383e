"""Backfill: the history a tablet that started from a snapshot keeps, fetched in the
background from the newest entry down (docs/architecture.md#a-new-tablet).

:func:`backfill` reads ``GET /v1/history`` pages below the stored cursor
(:mod:`storage.history`) down to the manifest's ``history_from``. Every entry must be a
canonical envelope of this facility signed by its device's registered key, AND be exactly the
entry its device's chain needs next going down: seq one below the lowest held without a gap,
and the SHA-256 the entry above it names as ``prev``. So each backfilled entry is proven by the
hash chain down from the anchors the server signed in the snapshot (and, through the pulled
tail, from the signed checkpoint heads). Each page's entries and the new cursor, per-device
run starts and "complete from" time commit in one ledger-writer transaction
(:meth:`storage.ledger.Ledger.ingest_later` with ``also``), so a crash re-reads a page at most.

An entry of a state kind (not :data:`sync.protocol.HISTORY_KINDS`) that is not held already
means the snapshot left out part of the current state: it is stored and applied like any
other (projections do not depend on arrival order), and once the window is complete the
tablet records ``mismatch`` and tells the server, which raises a ``snapshot_mismatch`` alert.
An entry that fails a check stops the backfill with ``mismatch`` too (nothing of its page is
stored); the tablet keeps working on what it holds.

Thread: the engine's sync thread, between syncs (``stopping`` is checked between pages).
Never blocks the GUI thread; the writer holds its lock for one page (:data:`PAGE` entries) at
a time so a dose being recorded waits at most that long. Raises SyncError (and the client's
transport errors) and StorageError; a failed check is reported in the result, not raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from mar_desktop import kinds
from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.envelope import GENESIS
from mar_desktop.signing import load_public_key
from storage import history
from storage.database import Connection
from storage.ingest import Item
from storage.local_store import LocalStore
from storage.sync_state import SyncState
from sync import protocol as p
from sync.client import ServerClient
from sync.feed_check import complete
from sync.feed_verify import verify_chunk
from sync.pull import kept_unapplied

log = logging.getLogger(__name__)

PAGE = 500
"""History entries per request and per ledger transaction."""


@dataclass(slots=True)
class BackfillResult:
    stored: int = 0
    pages: int = 0
    seconds: float = 0.0
    done: bool = False
    mismatch: str | None = None
    """What disagreed (plain words, no PHI), when backfill ended in ``mismatch``."""


Progress = Callable[[history.Backfill], None]


class _Failed(Exception):
    pass


def backfill(
    client: ServerClient,
    state: SyncState,
    store: LocalStore,
    *,
    stopping: Callable[[], bool],
    progress: Progress | None = None,
    deadline: float | None = None,
) -> BackfillResult:
    """Backfills pages until the window is complete, ``stopping()`` or ``deadline``
    (``time.monotonic()``); see the module doc."""
    result = BackfillResult()
    started = time.perf_counter()
    current = state.backfill()
    if current is None or current.done:
        result.done = True
        return result
    manifest = p.SnapshotManifest.model_validate_json(current.manifest)
    lows = {d: (a.low_seq, a.low_prev) for d, a in state.anchors().items()}
    keys = {d: load_public_key(k).raw for d, k in state.device_keys().items()}
    before, floor = current.before, current.history_from
    omitted = 0
    try:
        while before > floor + 1:
            if stopping() or (deadline is not None and time.monotonic() > deadline):
                break
            page = client.history(before, min(PAGE, before - floor - 1))
            items = [i for i in page.items if floor < i.pos < before]
            if not items:
                raise _Failed("the server's history ends before the window does")
            accepted, extra = _check_page(items, keys, store.facility_id, lows, state)
            omitted += extra
            before = items[-1].pos
            reached = before <= floor + 1
            last = parse_utc(manifest.issued_at) - timedelta(days=manifest.history_days)
            since = utc_iso(last) if reached else _recorded(items[-1].entry)
            bookkeeping = _advance(before, since, dict(lows))
            result.stored += store.ledger.ingest_later(accepted, also=bookkeeping).result()
            result.pages += 1
            if progress is not None:
                updated = state.backfill()
                if updated is not None:
                    progress(updated)
        else:
            _check_bottom(lows, manifest)
            if omitted:
                raise _Failed(
                    f"{omitted} current-state entries in the history were not in the snapshot"
                )
            state.finish_backfill(history.COMPLETE, None)
            result.done = True
    except _Failed as exc:
        result.mismatch = str(exc)
        result.done = True
        state.finish_backfill(history.MISMATCH, result.mismatch)
        log.warning("history backfill found a disagreement: %s", result.mismatch)
        client.report_mismatch(manifest.checkpoint, result.mismatch)
    result.seconds = time.perf_counter() - started
    return result


def _advance(
    before: int, since: str, lows: dict[str, tuple[int, str]]
) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        history.advance(conn, before, since, lows)

    return run


def _recorded(text: str) -> str:
    """``recorded_at`` of an entry's canonical JSON text (it was just verified)."""
    marker = '"recorded_at":"'
    start = text.rindex(marker) + len(marker)
    return text[start : text.index('"', start)]


def _check_page(
    items: list[p.FeedItem],
    keys: dict[str, bytes],
    facility_id: str,
    lows: dict[str, tuple[int, str]],
    state: SyncState,
) -> tuple[list[Item], int]:
    """The page's entries to store (and how many are state the snapshot left out); advances
    ``lows``. Raises _Failed naming the first entry that fails."""
    raws = [i.entry.encode("utf-8") for i in items]
    verdicts = verify_chunk(raws, keys, facility_id)
    checked = [complete(i.pos, raw, v) for i, raw, v in zip(items, raws, verdicts, strict=True)]
    held = state.held_ids([c.subject.id for c in checked if c.subject is not None])
    accepted: list[Item] = []
    omitted = 0
    for item in checked:
        entry = item.subject
        if item.code is not None or entry is None:
            raise _Failed(f"history entry at {item.pos}: {item.reason}")
        low = lows.get(entry.device_id)
        if low is None:
            raise _Failed(f"history entry at {item.pos} is of a device the snapshot did not name")
        if entry.seq != low[0] - 1 or entry.digest != low[1]:
            raise _Failed(f"history entry at {item.pos} does not link to the chain held above it")
        lows[entry.device_id] = (entry.seq, entry.prev)
        if entry.id in held:
            continue
        if item.planned is not None:
            accepted.append(item.planned)
        elif item.entry is not None and item.body is not None:
            accepted.append((item.entry, item.body))
            if item.entry.kind not in p.HISTORY_KINDS:
                omitted += 1
        elif item.entry is not None and kinds.from_newer_version(item.entry.kind, item.entry.body):
            accepted.append(kept_unapplied(item.entry))  # applied once this tablet is updated
        else:
            raise _Failed(f"history entry at {item.pos}: {item.body_error or 'invalid body'}")
    return accepted, omitted


def _check_bottom(lows: dict[str, tuple[int, str]], manifest: p.SnapshotManifest) -> None:
    """A chain whose whole history is held must end at GENESIS."""
    for device_id, (low_seq, low_prev) in lows.items():
        if low_seq == 1 and low_prev != GENESIS:
            raise _Failed(f"device {device_id}'s chain does not start at its beginning")
    if manifest.history_from == 0:
        short = [d for d, (low_seq, _) in lows.items() if low_seq != 1]
        if short:
            raise _Failed("the history ended before a device's chain reached its first entry")

