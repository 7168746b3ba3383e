"""A new tablet starts from the server's signed snapshot (docs/architecture.md#a-new-tablet).

:func:`start_from_snapshot` runs once, on a tablet's first sync (no feed cursor, no ledger
entry of another device), before the ordinary pull:

1. ``GET /v1/snapshot``; an older server answers 404 and the tablet reads the whole feed as
   before (returns None).
2. The manifest must verify with the server key pinned at enrolment and name this facility
   and server. Each state entry must be a canonical envelope of this facility signed by its
   device's registered key (:func:`sync.feed_verify.verify_chunk`), of a state kind, at a
   position no later than the tail, at or below its device's anchor (the anchor entry itself
   with the anchor's digest); consecutive entries of a device must link; their count and
   digest must be the manifest's. Any failure refuses the whole snapshot (SyncError): nothing
   is stored, and the next sync tries again.
3. In ONE ledger-writer transaction: the entries are stored and projected, the manifest and
   each device's anchor are recorded (:mod:`storage.history`) and the feed cursor is set to
   the tail's start. The ordinary pull then reads the recent feed: each device's chain
   continues from its anchor (:meth:`storage.sync_state.SyncState.head`).

:func:`prove_checkpoint` then checks, once that pull is stored, that every device's chain
passes through the head the manifest names at the checkpoint (SyncError if not).

Thread: the engine's sync thread. Raises SyncError (and the client's transport errors),
StorageError. Nothing here logs PHI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from mar_desktop import kinds
from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.envelope import Entry
from mar_desktop.errors import SyncError
from mar_desktop.signing import load_public_key
from storage import history
from storage.database import Connection
from storage.ingest import Item
from storage.local_store import LocalStore
from storage.sync_state import FEED, ServerInfo, SyncState
from sync import protocol as p
from sync.client import ServerClient
from sync.feed_check import complete
from sync.feed_verify import verify_chunk
from sync.pull import feed_marker, kept_unapplied, refresh_keys


@dataclass(frozen=True, slots=True)
class Started:
    """What a snapshot start stored."""

    entries: int
    checkpoint: int
    tail_after: int


def is_new(state: SyncState, store: LocalStore) -> bool:
    """True for a tablet that has never pulled: no feed cursor, no snapshot, and no ledger
    entry from any device but itself and the server."""
    if state.cursor(FEED) != (0, None) or state.backfill() is not None:
        return False
    conn = store.connect_reader()
    try:
        row = conn.execute(
            "SELECT 1 FROM ledger WHERE device_id NOT IN (?, "
            "(SELECT server_device_id FROM sync_server)) LIMIT 1",
            (store.device_id,),
        ).fetchone()
    finally:
        conn.close()
    return row is None


def _refuse(why: str) -> SyncError:
    return SyncError(f"The server's snapshot was refused ({why}); nothing of it was stored.")


def _checked(snapshot: p.Snapshot, keys: dict[str, bytes], facility_id: str) -> list[Item]:
    """The snapshot's entries, each checked (see module doc; entries of a newer app version are
    kept unapplied, as the pull keeps them). Raises SyncError for the first that fails."""
    manifest = snapshot.manifest
    anchors = {a.device_id: a for a in manifest.anchors}
    raws = [item.entry.encode("utf-8") for item in snapshot.entries]
    verdicts = verify_chunk(raws, keys, facility_id)
    out: list[Item] = []
    pairs: list[tuple[int, str]] = []
    last_pos = 0
    previous: dict[str, Entry] = {}
    for item, raw, verdict in zip(snapshot.entries, raws, verdicts, strict=True):
        checked = complete(item.pos, raw, verdict)
        if checked.code is not None:
            raise _refuse(f"entry at {item.pos}: {checked.reason}")
        entry = checked.entry if checked.planned is None else None
        if entry is None:  # planned: an administration, which is history
            raise _refuse(f"entry at {item.pos} is history, not current state")
        newer = checked.body is None and kinds.from_newer_version(entry.kind, entry.body)
        if checked.body is None and not newer:
            raise _refuse(f"entry at {item.pos}: {checked.body_error or 'invalid body'}")
        if entry.kind in p.HISTORY_KINDS or entry.chain != "ledger":
            raise _refuse(f"entry at {item.pos} is not current state")
        if not last_pos < item.pos <= manifest.tail_after:
            raise _refuse(f"entry at {item.pos} is out of order or after the tail")
        anchor = anchors.get(entry.device_id)
        if anchor is None or entry.seq > anchor.seq:
            raise _refuse(f"entry at {item.pos} lies beyond its device's anchor")
        if entry.seq == anchor.seq and entry.digest != anchor.digest:
            raise _refuse(f"entry at {item.pos} is not its device's anchor")
        before = previous.get(entry.device_id)
        if before is not None and (
            entry.seq <= before.seq or (entry.seq == before.seq + 1 and entry.prev != before.digest)
        ):
            raise _refuse(f"entry at {item.pos} does not follow its device's chain")
        previous[entry.device_id] = entry
        last_pos = item.pos
        pairs.append((item.pos, entry.digest))
        out.append(kept_unapplied(entry) if checked.body is None else (entry, checked.body))
    if len(pairs) != manifest.state_count or p.state_digest(pairs) != manifest.state_digest:
        raise _refuse("its entries are not the ones its manifest names")
    return out


def _check_manifest(manifest: p.SnapshotManifest, info: ServerInfo, facility_id: str) -> None:
    if not p.verify_manifest(manifest, info.server_public_key):
        raise _refuse("its signature does not verify with the server key kept at enrolment")
    if manifest.server_id != info.server_id or manifest.facility_id != facility_id:
        raise _refuse("it names another server or facility")
    if not manifest.history_from <= manifest.tail_after <= manifest.checkpoint:
        raise _refuse("its positions are out of order")
    heads = {h.device_id: h for h in manifest.heads}
    for anchor in manifest.anchors:
        head = heads.get(anchor.device_id)
        if head is None or head.seq < anchor.seq:
            raise _refuse("a device's anchor lies beyond its head")
        if head.seq == anchor.seq and head.digest != anchor.digest:
            raise _refuse("a device's anchor and head disagree")
    if set(heads) != {a.device_id for a in manifest.anchors}:
        raise _refuse("its heads and anchors name different devices")


def start_from_snapshot(
    client: ServerClient, state: SyncState, store: LocalStore, info: ServerInfo, now: str
) -> Started | None:
    """Stores the server's snapshot on a new tablet (see module doc); None from an older
    server (read the whole feed instead)."""
    snapshot = client.snapshot()
    if snapshot is None:
        return None
    manifest = snapshot.manifest
    _check_manifest(manifest, info, store.facility_id)
    keys = refresh_keys(client, state, store.facility_id)
    public = {d: load_public_key(k).raw for d, k in keys.items()}
    items = _checked(snapshot, public, store.facility_id)
    marker: str | None = None
    if manifest.tail_after:
        page = client.feed(manifest.tail_after - 1, 1)
        if not page.items or page.items[0].pos != manifest.tail_after:
            raise _refuse("the feed has no entry at its tail")
        marker = feed_marker(page.items[0].entry.encode("utf-8"))
    issued = parse_utc(manifest.issued_at)
    complete_from = utc_iso(issued - timedelta(days=manifest.recent_days))
    if manifest.history_from >= manifest.tail_after:
        complete_from = utc_iso(issued - timedelta(days=manifest.history_days))
    text = manifest.model_dump_json()
    anchors = [(a.device_id, a.seq, a.digest) for a in manifest.anchors]

    def record(conn: Connection) -> None:
        history.start(
            conn,
            manifest=text,
            checkpoint=manifest.checkpoint,
            tail_after=manifest.tail_after,
            history_from=manifest.history_from,
            complete_from=complete_from,
            anchors=anchors,
            now=now,
        )
        conn.execute(
            "INSERT INTO sync_cursor (name, value, marker, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
            "marker = excluded.marker, updated_at = excluded.updated_at",
            (FEED, manifest.tail_after, marker, now),
        )

    stored = store.ledger.ingest_later(items, also=record).result()
    return Started(stored, manifest.checkpoint, manifest.tail_after)


def prove_checkpoint(state: SyncState) -> None:
    """Every device's held chain passes through the head the manifest names at its
    checkpoint (call once the pull after the snapshot is stored). Raises SyncError."""
    backfill = state.backfill()
    if backfill is None:
        return
    manifest = p.SnapshotManifest.model_validate_json(backfill.manifest)
    anchors = {a.device_id: a for a in manifest.anchors}
    for head in manifest.heads:
        if head.seq == anchors[head.device_id].seq:
            continue  # the anchor itself: signed in the manifest
        if state.digest_at(head.device_id, "ledger", head.seq) != head.digest:
            raise SyncError(
                "The server's feed does not reach the chain heads its snapshot named; "
                "the records after the snapshot were held back."
            )
