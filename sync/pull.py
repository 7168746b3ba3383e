"""Pull: the facility's ledger feed, verified entry by entry, stored and projected in batches.

Contract:

- Device keys come from ``GET /v1/devices`` (the server's word) and are added to
  ``device_keys``; a known device announced with a DIFFERENT key stops the pull (SyncError).
- The feed cursor is a position and a marker: the marker identifies the entry AT that position
  (:func:`feed_marker`). Before pulling, that entry is fetched again: if it is gone or is
  another entry, the server was restored from an older backup and renumbered its feed, so the
  cursor goes back to 0 (everything is re-read; applying is idempotent). A page with no entries
  leaves the cursor as it was, marker included; an idle pull writes nothing.
- Each entry must parse, belong to this facility, be signed by its device's registered key, have
  a valid body (or one of a newer app version: :func:`mar_desktop.kinds.from_newer_version`,
  then it is stored and chain-checked but not applied), and continue its device's chain
  (``seq = head + 1``, ``prev = digest(head)``).
  One that does not is quarantined with the reason and skipped (entries after it in that
  device's chain then fail the chain check and are quarantined too — nothing unverifiable is
  ever applied). Entries already held with the same bytes (this tablet's own) are skipped.
- Pipelined (:mod:`sync.pull_pipeline`): a fetch thread reads pages ahead; each entry's bytes
  are proven a canonical envelope of this facility signed by its registered device key
  (:mod:`sync.feed_verify`: inline for a short pull, in :data:`VERIFY_PROCESSES` worker
  processes one page ahead for a long one), where administrations also get their body
  validated and their projection statements planned (:mod:`storage.projection_plan`: the same
  projector, recorded); the sync thread parses any other entry and validates its body ONCE
  (:mod:`sync.feed_check`) and checks the chain of every entry in feed order.
  Accepted entries of several pages (about :data:`BATCH`) go to the ledger writer in ONE
  transaction (:meth:`storage.ledger.Ledger.ingest_later`), stored while the next pages are
  verified; the cursor moves past those pages only once that transaction committed (a crash in
  between means the pages are read again; ingest skips what it holds). A long pull runs with a
  larger writer page cache (:meth:`storage.ledger.Ledger.bulk_ingest`).

Thread: the engine's sync thread (plus the fetch thread and, for a long pull, the verifier
processes it starts and ends; the interpreter switch interval is lowered meanwhile).
Raises SyncError (and the client's TransportRefused/DeviceRevoked, from the fetch thread); the
ledger writer raises StorageError.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass

from mar_desktop import __version__, kinds
from mar_desktop.canonical import loads
from mar_desktop.chain import check_link
from mar_desktop.changes import NO_CHANGES, Changes, changes_of
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.errors import IntegrityError, MarError, SyncError
from mar_desktop.signing import load_public_key
from storage.ingest import Item
from storage.local_store import LocalStore
from storage.projection_plan import PlannedEntry
from storage.sync_state import FEED, SyncState
from sync import protocol as p
from sync.client import ServerClient
from sync.feed_check import Prechecked, complete
from sync.pull_pipeline import InlineExecutor, PagePrefetcher, checked_pages, verifier_pool

log = logging.getLogger(__name__)

BATCH = 4000
"""Accepted entries stored per ledger transaction (several feed pages; projections stay atomic
per batch)."""
SWITCH_INTERVAL = 0.0005
"""Interpreter switch interval (s) during a long pull. The ledger writer gives up the GIL for
every SQLite step and must take it back from the sync thread, which is busy parsing the next
pages; at the default 5 ms each take-back could stall the writer that long (measured: ingest
about 3x slower next to a busy thread). Process-wide while the pull runs, then restored."""
VERIFY_PROCESSES = 2
"""Worker processes judging entries during a long pull (both cores, outside the GIL)."""


ITEMISED = 500
"""A pull that accepts more entries than this reports :meth:`Changes.everything` instead of
reading each body again (a new tablet's first pull: every screen reloads anyway)."""


@dataclass(slots=True)
class PullResult:
    pulled: int = 0
    quarantined: int = 0
    alerts: int = 0
    rewound: bool = False
    changes: Changes = NO_CHANGES
    """What the accepted entries touched (residents, alerts, settings, people)."""
    newer: int = 0
    """Entries written by a newer app version: stored and chain-checked, not applied."""


class _ChangeTally:
    """The accepted entries' kinds and bytes, until there are too many to itemise."""

    def __init__(self) -> None:
        self._kept: list[tuple[str, bytes]] | None = []

    def add(self, accepted: list[Item]) -> None:
        if self._kept is None:
            return
        self._kept.extend((_subject(i).kind, _subject(i).raw) for i in accepted)
        if len(self._kept) > ITEMISED:
            self._kept = None

    def changes(self) -> Changes:
        if self._kept is None:
            return Changes.everything()
        return changes_of((kind, loads(raw)["body"]) for kind, raw in self._kept)


def refresh_keys(client: ServerClient, state: SyncState, facility_id: str) -> dict[str, str]:
    """Registers the facility's device keys from the server; returns device id -> key hex."""
    answer = client.devices()
    if answer.facility_id != facility_id:
        raise SyncError("The server answered for another facility; nothing was applied.")
    known = state.device_keys()
    new: list[tuple[str, str, str]] = []
    for device in answer.devices:
        held = known.get(device.device_id)
        if held is None:
            new.append((device.device_id, device.public_key, device.label))
        elif held != device.public_key:
            raise SyncError(
                "The server announced a different key for a known device; nothing was applied."
            )
    if new:
        try:
            state.register_keys(new)
        except IntegrityError:
            raise SyncError("The server's device keys conflict with this tablet's.") from None
    return {**known, **{d: k for d, k, _ in new}}


class _Checker:
    """Decides each prechecked feed entry against per-device chain heads (see module doc).

    Heads advance as entries are accepted, before the batch holding them is stored; the digests
    of accepted entries not yet stored are kept until :meth:`settled` so a repeat of one is
    still recognised. Sync thread only.
    """

    def __init__(self, state: SyncState) -> None:
        self._state = state
        self._heads: dict[str, tuple[int, str]] = {}
        self._unsettled: dict[tuple[str, int], str] = {}
        self._runs = {d: a.low_seq for d, a in state.anchors().items()}
        """Per device, where the run held without a gap starts on a tablet that started from a
        snapshot: an entry below it that is not held is history backfill fetches, not a fork."""

    def head(self, device_id: str) -> tuple[int, str]:
        if device_id not in self._heads:
            self._heads[device_id] = self._state.head(device_id, "ledger")
        return self._heads[device_id]

    def decide(self, item: Prechecked) -> tuple[Subject | None, str | None, str | None]:
        """(entry to apply, None, None), (None, None, None) if already held, or
        (entry-or-None, code, reason) to quarantine."""
        entry = item.subject
        if item.code is not None or entry is None:
            return entry, item.code or "malformed", item.reason
        seq, digest = self.head(entry.device_id)
        mine = entry.digest
        if entry.seq <= seq:
            key = (entry.device_id, entry.seq)
            held = self._unsettled.get(key) or self._state.digest_at(
                entry.device_id, "ledger", entry.seq
            )
            if held == mine:
                return None, None, None
            if held is None and entry.seq < self._runs.get(entry.device_id, 1):
                return None, None, None  # history below the snapshot: backfill stores it
            return entry, "fork", "differs from the entry held for this device and seq"
        why = check_link(
            entry,
            expected_seq=seq + 1,
            expected_prev=digest,
            device_id=entry.device_id,
            chain="ledger",
        )
        if why is not None:
            return entry, "chain", why
        unreadable = item.planned is None and (item.body_error is not None or item.body is None)
        if unreadable and not _from_newer_version(entry):
            return entry, "invalid_body", item.body_error or "invalid body"
        self._heads[entry.device_id] = (entry.seq, mine)
        self._unsettled[(entry.device_id, entry.seq)] = mine
        return entry, None, None

    def settled(self, batch: list[Item]) -> None:
        """These accepted entries are stored (or held back): forget their digests."""
        for item in batch:
            entry = _subject(item)
            self._unsettled.pop((entry.device_id, entry.seq), None)


def feed_marker(raw: bytes) -> str:
    """What the cursor keeps of the feed entry at its position: the entry's id, or for bytes
    that are not an envelope (held back, but still at that position) their SHA-256."""
    try:
        return parse_raw(raw).id
    except ValueError:
        return "sha256:" + hashlib.sha256(raw).hexdigest()


def _rewound(client: ServerClient, cursor: int, marker: str | None) -> bool:
    """True if the server no longer holds, at position ``cursor``, the entry the cursor was
    left on (a restore from an older backup). A cursor without a marker cannot be proven and
    counts as rewound: re-reading is safe, skipping a restore is not."""
    if cursor == 0:
        return False
    page = client.feed(cursor - 1, 1)
    if not page.items or page.items[0].pos != cursor:
        return True
    return feed_marker(page.items[0].entry.encode("utf-8")) != marker


Subject = Entry | PlannedEntry
"""A pulled entry as the chain check sees it."""


def _subject(item: Item) -> Subject:
    return item if isinstance(item, PlannedEntry) else item[0]


_InFlight = tuple["Future[int] | None", list[Item], tuple[int, str | None]]
"""A batch handed to the writer: its future (None if empty), entries, and the cursor after it."""


class _Applier:
    """Stores accepted entries in batches of about :data:`BATCH` on the ledger writer, one
    batch in flight while the next pages are checked; moves the feed cursor only once the batch
    holding a page's entries is stored (a crash in between: the pages are read again)."""

    def __init__(
        self,
        store: LocalStore,
        state: SyncState,
        checker: _Checker,
        result: PullResult,
        stored: tuple[int, str | None],
    ) -> None:
        self._store = store
        self._state = state
        self._checker = checker
        self._result = result
        self._stored = stored
        self._batch: list[Item] = []
        self._cursor: tuple[int, str | None] | None = None
        self._inflight: _InFlight | None = None

    def _move_cursor(self, cursor: tuple[int, str | None]) -> None:
        if cursor != self._stored:
            self._state.set_cursor(FEED, *cursor)
            self._stored = cursor

    def add(self, accepted: list[Item], cursor: tuple[int, str | None]) -> None:
        self._batch.extend(accepted)
        self._cursor = cursor
        if len(self._batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Waits for the batch in flight, then sends the gathered one."""
        self.settle()
        if self._cursor is None:
            return
        batch, cursor = self._batch, self._cursor
        future = self._store.ledger.ingest_later(batch) if batch else None
        self._inflight = (future, batch, cursor)
        self._batch, self._cursor = [], None

    def settle(self) -> None:
        """Waits for the batch in flight; counts it, holds back clashes, moves the cursor."""
        if self._inflight is None:
            return
        future, batch, cursor = self._inflight
        self._inflight = None
        if future is not None:
            try:
                self._result.pulled += future.result()
            except IntegrityError:
                self._result.pulled += _apply_one_by_one(
                    self._store, self._state, batch, self._result
                )
        self._checker.settled(batch)
        self._move_cursor(cursor)

    def finish(self) -> None:
        self.flush()
        self.settle()

    def abandon(self) -> None:
        """After an error: waits for the batch in flight (the writer is not interrupted) and
        moves the cursor only if it was stored; the rest is read again next sync."""
        if self._inflight is None:
            return
        future, _, cursor = self._inflight
        self._inflight = None
        try:
            if future is not None:
                self._result.pulled += future.result()
            self._move_cursor(cursor)
        except MarError:
            log.warning("a pulled batch was not stored after an error; it is read again")


class _Pools:
    """Where pages are judged: inline for a short pull; once a page says more follow (a long
    pull, e.g. a new tablet's first sync), worker processes and a bigger writer cache, both
    released when ``stack`` closes."""

    def __init__(self, stack: contextlib.ExitStack, store: LocalStore) -> None:
        self._stack = stack
        self._store = store
        self._current: Executor = InlineExecutor()

    def for_page(self, page: p.FeedPage) -> Executor:
        if page.more and isinstance(self._current, InlineExecutor):
            self._current = verifier_pool(VERIFY_PROCESSES)
            self._stack.callback(self._current.shutdown, wait=True, cancel_futures=True)
            self._stack.enter_context(self._store.ledger.bulk_ingest())
            self._stack.enter_context(_switch_interval(SWITCH_INTERVAL))
        return self._current


@contextlib.contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def pull_feed(
    client: ServerClient,
    state: SyncState,
    store: LocalStore,
    *,
    page_size: int,
    stopping: Callable[[], bool],
) -> PullResult:
    """Pulls and applies the feed after the stored cursor (see module doc)."""
    result = PullResult()
    keys = refresh_keys(client, state, store.facility_id)
    public = {d: load_public_key(k).raw for d, k in keys.items()}
    checker = _Checker(state)
    after, marker = state.cursor(FEED)
    if _rewound(client, after, marker):
        result.rewound = True
        after, marker = 0, None
        state.set_cursor(FEED, 0, None)
    applier = _Applier(store, state, checker, result, (after, marker))
    tally = _ChangeTally()
    with contextlib.ExitStack() as stack:
        pages = PagePrefetcher(client, after, page_size)
        stack.callback(pages.close)
        pools = _Pools(stack, store)
        try:
            for page, judged in checked_pages(pages, pools.for_page, public, store.facility_id):
                if stopping():
                    break
                accepted: list[Item] = []
                last_raw: bytes | None = None
                for pos, raw, verdict in judged:
                    item = complete(pos, raw, verdict)
                    last_raw = item.raw
                    entry, code, reason = checker.decide(item)
                    if code is not None:
                        result.quarantined += _hold(state, item, entry, code, reason or code)
                    elif item.planned is not None:
                        accepted.append(item.planned)
                    elif item.entry is not None and item.body is not None:
                        accepted.append((item.entry, item.body))
                    elif item.entry is not None:  # from a newer version: kept, not applied
                        accepted.append(kept_unapplied(item.entry))
                        result.newer += int(entry is not None)
                result.alerts += sum(1 for i in accepted if _subject(i).kind == kinds.ALERT_RAISED)
                tally.add(accepted)
                if last_raw is not None:
                    marker = feed_marker(last_raw)
                applier.add(accepted, (page.next, marker))
            applier.finish()
        except BaseException:
            applier.abandon()
            raise
    if result.pulled:
        result.changes = tally.changes()
    if result.newer:
        state.note_newer_held(__version__)
    return result


def _from_newer_version(entry: Subject) -> bool:
    return isinstance(entry, Entry) and kinds.from_newer_version(entry.kind, entry.body)


def kept_unapplied(entry: Entry) -> PlannedEntry:
    """An entry of a newer app version, stored and chain-checked with no projection statement:
    an upgraded tablet applies it when it rebuilds its projections."""
    return PlannedEntry(
        entry.id,
        entry.device_id,
        entry.seq,
        entry.prev,
        entry.kind,
        entry.recorded_at,
        entry.raw,
        entry.digest,
        (),
    )


def _apply_one_by_one(
    store: LocalStore, state: SyncState, batch: list[Item], result: PullResult
) -> int:
    """A batch clashed with a stored entry: store one by one, hold back the bad."""
    stored = 0
    for item in batch:
        entry = item[0] if not isinstance(item, PlannedEntry) else parse_raw(item.raw)
        try:
            stored += store.ledger.ingest([entry])
        except IntegrityError as exc:
            result.quarantined += int(
                state.quarantine(
                    "pull",
                    entry.id,
                    code="conflict",
                    reason=str(exc),
                    device_id=entry.device_id,
                    chain="ledger",
                    seq=entry.seq,
                    raw=entry.raw,
                )
            )
    return stored


def _hold(state: SyncState, item: Prechecked, entry: Subject | None, code: str, reason: str) -> int:
    return int(
        state.quarantine(
            "pull",
            entry.id if entry is not None else f"pos:{item.pos}",
            code=code,
            reason=reason,
            device_id=None if entry is None else entry.device_id,
            chain="ledger",
            seq=None if entry is None else entry.seq,
            raw=item.raw,
        )
    )
