"""Pull: the facility's ledger feed, verified, applied to the projections one page at a time.

Contract:

- Device keys come from ``GET /v1/devices`` (the server's word) and are added to
  ``device_keys``; a known device announced with a DIFFERENT key stops the pull (SyncError).
- Before pulling, the entry at the stored feed position is fetched again: if it is gone or is
  another entry, the server was restored from an older backup and renumbered its feed, so the
  cursor goes back to 0 (everything is re-read; applying is idempotent).
- Each entry must parse, belong to this facility, be signed by its device's registered key, have
  a valid body, and continue its device's chain (``seq = head + 1``, ``prev = digest(head)``).
  One that does not is quarantined with the reason and skipped (entries after it in that
  device's chain then fail the chain check and are quarantined too — nothing unverifiable is
  ever applied). Entries already held with the same bytes (this tablet's own) are skipped.
- The accepted entries of a page go to :meth:`storage.ledger.Ledger.ingest` in ONE transaction;
  only then is the cursor moved (a crash in between means the page is read again; ingest skips
  what it holds).

Thread: the engine's sync thread. Raises SyncError; the ledger writer raises StorageError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mar_desktop import kinds
from mar_desktop.chain import check_link, check_signature
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.errors import IntegrityError, MarError, SyncError
from mar_desktop.signing import load_public_key
from storage.local_store import LocalStore
from storage.sync_state import FEED, SyncState
from sync import protocol as p
from sync.client import ServerClient


@dataclass(slots=True)
class PullResult:
    pulled: int = 0
    quarantined: int = 0
    alerts: int = 0
    rewound: bool = False


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
    """Verifies feed entries against keys and per-device chain heads (see module doc)."""

    def __init__(self, state: SyncState, keys: dict[str, str], facility_id: str) -> None:
        self._state = state
        self._facility_id = facility_id
        self._keys = {d: load_public_key(k) for d, k in keys.items()}
        self._heads: dict[str, tuple[int, str]] = {}

    def head(self, device_id: str) -> tuple[int, str]:
        if device_id not in self._heads:
            self._heads[device_id] = self._state.head(device_id, "ledger")
        return self._heads[device_id]

    def check(self, raw: bytes) -> tuple[Entry | None, str | None, str | None]:
        """(entry to apply, None, None), (None, None, None) if already held, or
        (entry-or-None, code, reason) to quarantine."""
        try:
            entry = parse_raw(raw)
        except ValueError as exc:
            return None, "malformed", f"not a valid entry: {exc}"
        if entry.facility_id != self._facility_id:
            return entry, "wrong_facility", "belongs to another facility"
        key = self._keys.get(entry.device_id)
        if key is None:
            return entry, "unknown_device", "signed by a device the server did not announce"
        try:
            signed = check_signature(raw, key)
        except ValueError:
            signed = False
        if not signed:
            return entry, "bad_signature", "signature does not verify with the device key"
        seq, digest = self.head(entry.device_id)
        if entry.seq <= seq:
            held = self._state.digest_at(entry.device_id, "ledger", entry.seq)
            if held == entry.digest:
                return None, None, None
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
        try:
            kinds.parse_body(entry.kind, entry.body)
        except MarError as exc:
            return entry, "invalid_body", str(exc)
        self._heads[entry.device_id] = (entry.seq, entry.digest)
        return entry, None, None


def _rewound(client: ServerClient, cursor: int, marker: str | None) -> bool:
    if cursor == 0:
        return False
    page = client.feed(cursor - 1, 1)
    if not page.items or page.items[0].pos != cursor:
        return True
    try:
        return parse_raw(page.items[0].entry.encode("utf-8")).id != marker
    except ValueError:
        return True


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
    checker = _Checker(state, keys, store.facility_id)
    after, marker = state.cursor(FEED)
    if _rewound(client, after, marker):
        result.rewound = True
        after = 0
        state.set_cursor(FEED, 0, None)
    while not stopping():
        page = client.feed(after, page_size)
        if not page.items:
            break
        accepted: list[Entry] = []
        for item in page.items:
            raw = item.entry.encode("utf-8")
            entry, code, reason = checker.check(raw)
            if code is not None:
                result.quarantined += _hold(state, item, entry, code, reason or code, raw)
            elif entry is not None:
                accepted.append(entry)
        result.pulled += _apply(store, state, accepted, result)
        result.alerts += sum(1 for e in accepted if e.kind == kinds.ALERT_RAISED)
        last = page.items[-1]
        after = page.next
        state.set_cursor(FEED, after, parse_raw(last.entry.encode("utf-8")).id)
        if not page.more:
            break
    return result


def _apply(store: LocalStore, state: SyncState, entries: list[Entry], result: PullResult) -> int:
    if not entries:
        return 0
    try:
        return store.ledger.ingest(entries)
    except IntegrityError:
        pass  # one of them clashes with a stored entry: apply one by one, hold back the bad
    stored = 0
    for entry in entries:
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


def _hold(
    state: SyncState,
    item: p.FeedItem,
    entry: Entry | None,
    code: str,
    reason: str,
    raw: bytes,
) -> int:
    return int(
        state.quarantine(
            "pull",
            entry.id if entry is not None else f"pos:{item.pos}",
            code=code,
            reason=reason,
            device_id=None if entry is None else entry.device_id,
            chain="ledger",
            seq=None if entry is None else entry.seq,
            raw=raw,
        )
    )
