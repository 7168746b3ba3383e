"""Snapshots and history for new tablets (docs/architecture.md#a-new-tablet).

:func:`build_snapshot` answers ``GET /v1/snapshot``: the facility's current-state entries (every
ledger entry of a kind in :data:`sync.protocol.STATE_KINDS`, i.e. not history) at or before the
start of the recent tail, and a manifest signed with the server key that names the checkpoint:
the feed's last position, every device's ledger head there, every device's anchor (its last
entry at or before the tail's start), the count and digest of the state entries, and how far
back history goes for a new tablet (the facility's ``history_days``).

Positions are found by binary search over the feed on ``recorded_at`` (the devices' clocks,
almost always increasing with the position): the tail starts at the first entry recorded in the
last :data:`sync.protocol.RECENT_DAYS` days, history at the first recorded in the last
``history_days``. An entry recorded out of order only moves which side of a boundary it is on:
the tail and the backfill together still deliver every entry after ``history_from``.

Reads only, no transaction: feed positions are committed in order under the facility lock, so
everything at or before the checkpoint read first is already stored. Threads: any.
:func:`raise_mismatch` appends a ``snapshot_mismatch`` alert (once per device and checkpoint).
Raises ``NotFound`` for an unknown facility; ``StorageError`` from the store.
"""

from __future__ import annotations

from datetime import timedelta

from mar_desktop import kinds
from mar_desktop.chain import snapshot_message
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import SYSTEM_ACTOR, EntryDraft, new_id
from mar_desktop.errors import NotFound
from sync import protocol as p
from sync.server.core import ServerCore
from sync.server.store import Store

STATE_KINDS = tuple(
    sorted(
        kind
        for kind in kinds.BODY_TYPES
        if kind not in p.HISTORY_KINDS and not kind.startswith(kinds.AUDIT_KIND_PREFIX)
    )
)
"""Every ledger kind the server knows that is current state rather than history. The server
upgrades first and refuses bodies of kinds it does not know, so this covers what it holds."""


def first_recorded_since(store: Store, facility_id: str, last: int, cutoff: str) -> int:
    """The position before the first ledger entry recorded at or after ``cutoff`` (0 if every
    entry is; ``last`` if none is), by binary search over ``1..last``."""
    low, high = 0, last  # invariant: entries <= low are older (or none); answer in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        recorded = store.recorded_at_pos(facility_id, "ledger", middle)
        if recorded is not None and recorded < cutoff:
            low = middle
        else:
            high = middle - 1
    return low


def build_snapshot(core: ServerCore, facility_id: str) -> p.Snapshot:
    """The snapshot of ``facility_id`` now (see module doc)."""
    store = core.store
    if store.facility_name(facility_id) is None:
        raise NotFound("unknown facility")
    checkpoint = store.last_pos(facility_id, "ledger")
    now = core.clock.now()
    history_days = store.history_days(facility_id)
    tail_after = first_recorded_since(
        store, facility_id, checkpoint, utc_iso(now - timedelta(days=p.RECENT_DAYS))
    )
    history_from = first_recorded_since(
        store, facility_id, tail_after, utc_iso(now - timedelta(days=history_days))
    )
    devices = store.devices(facility_id)
    heads: list[p.ChainPoint] = []
    anchors: list[p.ChainPoint] = []
    state: list[p.FeedItem] = []
    pairs: list[tuple[int, str]] = []
    stored = []
    for device in devices:
        head = store.point_at(device.device_id, "ledger", checkpoint)
        anchor = store.point_at(device.device_id, "ledger", tail_after)
        heads.append(p.ChainPoint(device_id=device.device_id, seq=head.seq, digest=head.digest))
        anchors.append(
            p.ChainPoint(device_id=device.device_id, seq=anchor.seq, digest=anchor.digest)
        )
        if anchor.seq:
            stored.extend(
                store.entries_of_kinds(facility_id, device.device_id, STATE_KINDS, tail_after)
            )
    stored.sort(key=lambda e: e.pos)
    for entry in stored:
        state.append(p.FeedItem(pos=entry.pos, entry=entry.raw.decode("utf-8")))
        pairs.append((entry.pos, entry.digest))
    fields = {
        "server_id": core.server_id,
        "facility_id": facility_id,
        "issued_at": utc_iso(now),
        "checkpoint": checkpoint,
        "heads": [h.model_dump(mode="json") for h in heads],
        "tail_after": tail_after,
        "anchors": [a.model_dump(mode="json") for a in anchors],
        "state_count": len(pairs),
        "state_digest": p.state_digest(pairs),
        "history_from": history_from,
        "history_days": history_days,
        "recent_days": p.RECENT_DAYS,
    }
    sig = core.signer.sign(snapshot_message(fields)).hex()
    return p.Snapshot(manifest=p.SnapshotManifest(**fields, sig=sig), entries=state)


def raise_mismatch(
    core: ServerCore, facility_id: str, device_id: str, report: p.SnapshotMismatch
) -> bool:
    """A ``snapshot_mismatch`` alert (v2 body) about ``device_id``'s snapshot at
    ``report.checkpoint``; False if one was raised already (by any server process)."""
    body = kinds.AlertRaised(
        v=2,
        alert_id=new_id(),
        alert_type="snapshot_mismatch",
        device_id=device_id,
        detail=f"snapshot at feed position {report.checkpoint}: {report.detail}",
    )
    with core.store.write() as txn:
        txn.lock_facility(facility_id)
        subject = f"{device_id}:{report.checkpoint}"
        if not txn.claim_alert(facility_id, "snapshot_mismatch", subject, core.now()):
            return False
        core.append_server_entries(
            txn, facility_id, [EntryDraft(kinds.ALERT_RAISED, SYSTEM_ACTOR, kinds.body_json(body))]
        )
    return True
