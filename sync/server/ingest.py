"""The push: checking a device's batch against its chains, storing it and signing a receipt.

Contract (docs/architecture.md#push): entries come in ``seq`` order; each must be the
authenticated device's, of its facility, of a kind a device may record (not
``SERVER_ONLY_KINDS``), with a valid body and signature, and continue its chain
(``seq = head + 1``, ``prev = digest(head)``). Valid entries are stored with a facility-global
feed position and committed durably in ONE transaction before the receipt is made. An entry
already held with identical bytes is acknowledged again; one held with different bytes (or not
linking to the held head) is a fork: refused and raised once as an ``alert.raised`` entry of the
server device. Anything else refused is reported per entry; nothing refused is stored.

Threads: called on a request thread; the facility's write lock is held only for the chain
checks and the insert (signatures are checked before, in parallel, by :mod:`.checker`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mar_desktop import kinds
from mar_desktop.envelope import SYSTEM_ACTOR, Chain, EntryDraft, new_id
from sync.protocol import Receipt, Rejection, RejectionCode, receipt_message
from sync.server.checker import Checked, DoseBody, Verifier
from sync.server.core import ServerCore
from sync.server.store import DeviceRecord, ForkRecord, Head, NewEntry, WriteTxn

_CHAINS: tuple[Chain, ...] = ("ledger", "audit")


@dataclass(slots=True)
class PushOutcome:
    receipt: Receipt
    stored: list[NewEntry] = field(default_factory=list)
    doses: dict[str, DoseBody] = field(default_factory=dict)
    """The checked ``administration.recorded`` bodies among ``stored``, by entry digest."""

    @property
    def status(self) -> int:
        codes = {r.code for r in self.receipt.rejections}
        if "fork" in codes:
            return 409
        return 422 if codes else 200


def _reject(index: int, checked: Checked, code: RejectionCode, reason: str) -> Rejection:
    f = checked.facts
    return Rejection(
        index=index,
        code=code,
        reason=reason,
        seq=None if f is None else f.seq,
        chain=None if f is None else f.chain,
        entry_id=None if f is None else f.entry_id,
    )


def push(
    core: ServerCore, verifier: Verifier, device: DeviceRecord, raws: Sequence[bytes]
) -> PushOutcome:
    """Checks, stores and acknowledges one batch of ``device``'s entries (see module doc)."""
    checked = verifier.check(raws, device.public_key, device.device_id, device.facility_id)
    rejections: list[Rejection] = []
    rows: list[NewEntry] = []
    doses: dict[str, DoseBody] = {}
    duplicates = 0
    with core.store.write() as txn:
        txn.lock_facility(device.facility_id)
        heads = {chain: txn.head(device.device_id, chain) for chain in _CHAINS}
        held = _held_digests(txn, device.device_id, checked, heads)
        pos = {chain: txn.next_pos(device.facility_id, chain) for chain in _CHAINS}
        forks: list[tuple[int, Checked, str]] = []
        for index, item in enumerate(checked):
            f = item.facts
            if item.code is not None or f is None:
                code = item.code or "malformed"
                rejections.append(_reject(index, item, code, item.reason or "refused"))  # type: ignore[arg-type]
                continue
            head = heads[f.chain]
            if f.seq <= head.seq:
                if held.get((f.chain, f.seq)) == f.digest:
                    duplicates += 1
                    continue
                why = (
                    f"fork: the server holds different bytes for {f.chain} seq {f.seq} of this "
                    "device (cloned or restored tablet?)"
                )
                forks.append((index, item, why))
                continue
            if f.seq > head.seq + 1:
                why = (
                    f"follows a gap: the server holds {f.chain} entries up to seq {head.seq}, "
                    f"so seq {head.seq + 1} must come first"
                )
                rejections.append(_reject(index, item, "gap", why))
                continue
            if f.prev != head.digest:
                why = (
                    f"fork: does not link to the {f.chain} entry seq {head.seq} the server holds "
                    "(prev hash mismatch; cloned or restored tablet?)"
                )
                forks.append((index, item, why))
                continue
            rows.append(
                NewEntry(
                    device.facility_id,
                    device.device_id,
                    f.chain,
                    f.seq,
                    pos[f.chain],
                    f.entry_id,
                    f.kind,
                    f.digest,
                    f.recorded_at,
                    raws[index],
                )
            )
            pos[f.chain] += 1
            heads[f.chain] = Head(f.seq, f.digest)
            if item.dose is not None:
                doses[f.digest] = item.dose
        txn.insert_entries(rows)
        alerted: set[Chain] = set()
        for index, item, why in forks:
            rejections.append(_reject(index, item, "fork", why))
            assert item.facts is not None
            if item.facts.chain not in alerted:  # one alert per chain and push: the first fork
                alerted.add(item.facts.chain)
                _raise_fork_alert(core, txn, device, item, why)
    rejections.sort(key=lambda r: r.index)
    fields = {
        "server_id": core.server_id,
        "device_id": device.device_id,
        "facility_id": device.facility_id,
        "issued_at": core.now(),
        "heads": {chain: heads[chain].seq for chain in _CHAINS},
        "stored": len(rows),
        "duplicates": duplicates,
        "rejections": [r.model_dump(mode="json") for r in rejections],
    }
    sig = core.signer.sign(receipt_message(fields)).hex()
    return PushOutcome(Receipt.model_validate({**fields, "sig": sig}), rows, doses)


def _held_digests(
    txn: WriteTxn, device_id: str, checked: Sequence[Checked], heads: dict[Chain, Head]
) -> dict[tuple[Chain, int], str]:
    held: dict[tuple[Chain, int], str] = {}
    for chain in _CHAINS:
        seqs = [
            c.facts.seq
            for c in checked
            if c.facts is not None and c.facts.chain == chain and c.facts.seq <= heads[chain].seq
        ]
        for seq, digest in txn.stored_digests(device_id, chain, seqs).items():
            held[(chain, seq)] = digest
    return held


def _raise_fork_alert(
    core: ServerCore, txn: WriteTxn, device: DeviceRecord, item: Checked, why: str
) -> None:
    f = item.facts
    assert f is not None
    fresh = txn.record_fork(ForkRecord(device.device_id, f.chain, f.seq, f.digest, core.now()))
    if not fresh:
        return  # the same offered bytes were already alerted on
    body = kinds.AlertRaised(
        alert_id=new_id(),
        alert_type="fork",
        device_id=device.device_id,
        related_entry_ids=(f.entry_id,),
        detail=f"{why}; offered entry sha256 {f.digest}",
    )
    core.append_server_entries(
        txn,
        device.facility_id,
        [EntryDraft(kinds.ALERT_RAISED, SYSTEM_ACTOR, kinds.body_json(body))],
    )
