"""The server taking back its OWN ledger entries from a tablet (after a restore from backup).

What the server itself records (``device.enrolled``, ``alert.raised``, the first admin's
``user.created``, ``facility.configured``) lives only in its database; tablets hold copies
pulled from the feed. A server restored from an older backup has lost the tail of its own chain,
and the next entry it wrote would reuse a ``seq`` the tablets already hold with other bytes — a
fork of the server's own chain. So every tablet, at the start of every sync, learns the server
chain head from ``GET /v1/cursor`` (``server``) and returns through ``POST /v1/relay`` the server
entries it holds above it; the server stores them after the same checks as any push:

- each entry must be the facility's server device's, ledger chain, signed by the server key
  (so the tablet cannot invent anything), valid body, and continue the server chain
  (``seq = head + 1``, ``prev = digest(head)``);
- an entry held with identical bytes is counted as a duplicate; one held with other bytes, or not
  linking to the held head, is a :class:`Conflict` (409) — the server wrote its own entry there
  before any tablet returned the lost one; nothing of the batch is stored;
- a returned ``device.enrolled`` whose device row was lost with the backup re-registers that
  device (same id, public key and label), so a tablet enrolled after the backup can sign in
  again; a returned ``device.revoked`` revokes that device again the same way. (A revocation
  made before revocations were entries is not in the chain: re-run ``revoke-device``.)

All-or-nothing per call, one write transaction under the facility lock (so it never races the
server's own appends). Threads: request threads. Raises ``MarError`` subclasses.
"""

from __future__ import annotations

from collections.abc import Sequence

from mar_desktop import kinds
from mar_desktop.chain import check_link, check_signature
from mar_desktop.envelope import parse_raw
from mar_desktop.errors import Conflict, MarError, NotFound, ValidationError
from mar_desktop.signing import load_public_key
from sync import protocol as p
from sync.server.core import ServerCore
from sync.server.store import DeviceRecord, Head, NewEntry


def relay(core: ServerCore, facility_id: str, raws: Sequence[bytes]) -> p.RelayResult:
    """Stores the server's own entries returned by a tablet (see module doc)."""
    server = core.store.server_device(facility_id)
    if server is None:
        raise NotFound("this facility has no server device")
    key = load_public_key(server.public_key)
    entries = []
    for index, raw in enumerate(raws):
        try:
            entry = parse_raw(raw)
            signed = check_signature(raw, key)
        except ValueError as exc:
            raise ValidationError(f"entries[{index}]: not a valid entry: {exc}") from None
        if entry.device_id != server.device_id or entry.facility_id != facility_id:
            raise ValidationError(f"entries[{index}]: not this facility's server entry")
        if not signed:
            raise ValidationError(f"entries[{index}]: signature does not verify")
        try:
            body = kinds.parse_body(entry.kind, entry.body)
        except MarError as exc:
            raise ValidationError(f"entries[{index}]: invalid body: {exc}") from None
        entries.append((entry, body, raw))
    stored = duplicates = 0
    with core.store.write() as txn:
        txn.lock_facility(facility_id)
        head = txn.head(server.device_id, "ledger")
        held = txn.stored_digests(
            server.device_id, "ledger", [e.seq for e, _, _ in entries if e.seq <= head.seq]
        )
        pos = txn.next_pos(facility_id, "ledger")
        rows: list[NewEntry] = []
        for index, (entry, body, raw) in enumerate(entries):
            if entry.seq <= head.seq:
                if held.get(entry.seq) != entry.digest:
                    raise Conflict(
                        f"entries[{index}]: the server holds a different entry of its own at "
                        f"seq {entry.seq}"
                    )
                duplicates += 1
                continue
            why = check_link(
                entry,
                expected_seq=head.seq + 1,
                expected_prev=head.digest,
                device_id=server.device_id,
                chain="ledger",
            )
            if why is not None:
                if entry.seq > head.seq + 1:
                    raise ValidationError(f"entries[{index}]: {why}")
                raise Conflict(f"entries[{index}]: {why}")
            rows.append(
                NewEntry(
                    facility_id,
                    server.device_id,
                    "ledger",
                    entry.seq,
                    pos,
                    entry.id,
                    entry.kind,
                    entry.digest,
                    entry.recorded_at,
                    raw,
                )
            )
            pos += 1
            head = Head(entry.seq, entry.digest)
            if (
                isinstance(body, kinds.DeviceEnrolled)
                and core.store.get_device(body.device_id) is None
            ):
                txn.add_device(
                    DeviceRecord(
                        body.device_id,
                        facility_id,
                        body.public_key,
                        body.label,
                        False,
                        entry.recorded_at,
                    )
                )
            if isinstance(body, kinds.DeviceRevoked):  # a revocation the restore lost
                txn.revoke_device(body.device_id, entry.recorded_at, body.mode)
        txn.insert_entries(rows)
        stored = len(rows)
    return p.RelayResult(stored=stored, duplicates=duplicates, head=head.seq)
