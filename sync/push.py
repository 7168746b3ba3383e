"""Push: this tablet's unacknowledged entries to the server, in ``seq`` order, in batches.

Per chain (ledger, then audit), given the server's cursor for this device:

- server holds MORE than the tablet (its seq > the tablet's head): this database is an older
  copy of the device (restored or cloned before the server saw later entries). Appending would
  fork, so nothing is pushed: :class:`ForkDetected`.
- server's entry at its head seq differs from ours: fork. The conflicting entry is offered once
  so the server records the fork and raises its alert; then :class:`ForkDetected`.
- otherwise everything above the server's seq is sent in batches; each answer's receipt must be
  signed by the enrolled server key and name this device and server (else SyncError, nothing is
  considered acknowledged). The acknowledged seq is kept in ``sync_cursor``.
- an entry the server rejects (bad body, signature, …) is quarantined with the server's reason;
  the rest of THAT chain cannot follow it (the chain links through it), so that chain stops
  there while the other chain, pulls and credentials go on; the entry is re-offered next time
  (a server upgrade may accept it). A fork rejection sets the ``fork`` flag: no more pushes.

Before that, :func:`relay_server_chain` returns to a restored server the entries OF THE SERVER
DEVICE this tablet holds above the server's own head (see :mod:`sync.protocol`, "The server's own
chain"): skipped when the server's entry at its head differs from our copy; a 409 ends it
quietly (the pull then holds the server's differing entries back).

Thread: the engine's sync thread. Raises SyncError subclasses; writes only sync_state rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from mar_desktop.envelope import Chain, parse_raw
from mar_desktop.errors import ForkDetected, SyncError
from storage.sync_state import FLAG_FORK, ServerInfo, SyncState, acked_cursor
from sync import protocol as p
from sync.client import ServerClient

log = logging.getLogger(__name__)
CHAINS: tuple[Chain, ...] = ("ledger", "audit")
FORK_MESSAGE = (
    "The server holds different records for this tablet (was this tablet's database copied or "
    "restored?). Sending is stopped; records stay on this tablet. Call the administrator."
)


@dataclass(slots=True)
class PushResult:
    pushed: int = 0
    quarantined: int = 0
    held_back: bool = False
    server_lost: bool = False
    """The server's head was below what it had acknowledged before: it was restored from an
    older backup (what it lost of this chain is sent again; the engine re-sends credentials)."""


def check_receipt(receipt: p.Receipt, info: ServerInfo, device_id: str) -> None:
    if not p.verify_receipt(receipt, info.server_public_key):
        raise SyncError("The server's receipt is not signed by the enrolled server.")
    if receipt.server_id != info.server_id or receipt.device_id != device_id:
        raise SyncError("The server's receipt is for another server or device.")


def push_chain(
    client: ServerClient,
    state: SyncState,
    info: ServerInfo,
    device_id: str,
    chain: Chain,
    server_head: p.ChainHead,
    *,
    batch: int,
    stopping: Callable[[], bool],
) -> PushResult:
    """Pushes one chain (see module doc). Returns what moved."""
    result = PushResult()
    local_seq, _ = state.head(device_id, chain)
    start = server_head.seq
    if start > local_seq:
        state.set_flag(FLAG_FORK, f"{chain}: server holds seq {start}, tablet {local_seq}")
        raise ForkDetected(FORK_MESSAGE)
    if start > 0 and state.digest_at(device_id, chain, start) != server_head.digest:
        start -= 1  # offer our entry at that seq: the server records the fork and alerts
    acknowledged_before, _ = state.cursor(acked_cursor(chain))
    result.server_lost = server_head.seq < acknowledged_before
    if start != acknowledged_before:
        state.set_cursor(acked_cursor(chain), start)
    while not stopping():
        rows = state.own_entries_after(device_id, chain, start, batch)
        if not rows:
            break
        status, receipt = client.push([raw for _, raw in rows])
        check_receipt(receipt, info, device_id)
        acked = receipt.heads.get(chain, 0)
        result.pushed += receipt.stored
        state.set_cursor(acked_cursor(chain), acked)
        if receipt.rejections:
            _quarantine(state, rows, receipt.rejections, chain, result)
            if status == 409 or any(r.code == "fork" for r in receipt.rejections):
                state.set_flag(FLAG_FORK, f"{chain}: server refused seq {acked + 1} as a fork")
                raise ForkDetected(FORK_MESSAGE)
            result.held_back = True
            break
        if acked <= start:
            raise SyncError("The server did not acknowledge the records sent.")
        start = acked
    return result


def _quarantine(
    state: SyncState,
    rows: list[tuple[int, bytes]],
    rejections: list[p.Rejection],
    chain: Chain,
    result: PushResult,
) -> None:
    for rejection in rejections:
        if rejection.code == "gap" or not 0 <= rejection.index < len(rows):
            continue  # held behind the rejected entry, not bad itself
        seq, raw = rows[rejection.index]
        try:
            entry_id = parse_raw(raw).id
        except ValueError:
            entry_id = f"{chain}:{seq}"
        fresh = state.quarantine(
            "push",
            entry_id,
            code=rejection.code,
            reason=rejection.reason,
            chain=chain,
            seq=seq,
        )
        result.quarantined += int(fresh)


def relay_server_chain(
    client: ServerClient,
    state: SyncState,
    server_device_id: str,
    server_head: p.ChainHead | None,
    *,
    batch: int,
    stopping: Callable[[], bool],
) -> int:
    """Returns the server's own entries it lost (see module doc); how many it stored."""
    if server_head is None:
        return 0
    local_seq, _ = state.head(server_device_id, "ledger")
    if local_seq <= server_head.seq:
        return 0
    if server_head.seq > 0 and (
        state.digest_at(server_device_id, "ledger", server_head.seq) != server_head.digest
    ):
        log.warning("the server's own chain differs from this tablet's copy; not returned")
        return 0
    start, stored = server_head.seq, 0
    while not stopping():
        rows = state.own_entries_after(server_device_id, "ledger", start, batch)
        if not rows:
            break
        answer = client.relay([raw for _, raw in rows])
        if answer is None:
            log.warning("the server holds other entries of its own; not returned")
            break
        stored += answer.stored
        start = rows[-1][0]
    if stored:
        log.info("returned %d of the server's own entries it had lost", stored)
    return stored
