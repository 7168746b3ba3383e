"""``mar-server import-bundle FILE``: taking in a tablet's export-pending bundle by hand.

The bundle format and its checks are in :mod:`sync.bundle_format`. Here: the facility and
server it must be for, the device it must come from (known, of that facility, not revoked — as
for an online push), then the entries go through :func:`sync.server.ingest.push` in batches of
the online size, so signatures, chain continuity, gaps, forks (alerted) and idempotence (an
entry held with identical bytes is acknowledged again, never stored twice) are exactly those of
online sync, followed by the same clinical reconciliation. Nothing is stored unless the whole
bundle's signature and encryption check out.

Threads: the command-line process's. Raises :class:`sync.bundle_format.BundleError` (refused,
nothing stored) or other ``MarError``; messages hold ids and counts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sync.bundle_format import BundleError, read_bundle
from sync.protocol import MAX_BATCH, Rejection
from sync.server.checker import Verifier
from sync.server.core import ServerCore
from sync.server.ingest import push


@dataclass(slots=True)
class ImportResult:
    bundle_id: str
    device_id: str
    facility_id: str
    offered: int = 0
    stored: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejections

    def summary(self) -> str:
        text = (
            f"Bundle {self.bundle_id} from device {self.device_id}: {self.offered} entries, "
            f"{self.stored} stored, {self.duplicates} already held"
        )
        if self.rejections:
            first = self.rejections[0]
            text += (
                f", {len(self.rejections)} refused (first: {first.chain} seq {first.seq}: "
                f"{first.code}: {first.reason})"
            )
        return text + "."


def import_bundle(
    core: ServerCore, data: bytes, facility_id: str, verifier: Verifier | None = None
) -> ImportResult:
    """Checks ``data`` and stores its entries into ``facility_id`` (see the module doc)."""
    bundle = read_bundle(data)
    header = bundle.header
    if header.facility_id != facility_id:
        raise BundleError("the bundle is for another facility; nothing was imported")
    if header.server_id != core.server_id:
        raise BundleError("the bundle was made for another server; nothing was imported")
    device = core.store.get_device(header.device_id)
    if device is None or device.is_server or device.facility_id != facility_id:
        raise BundleError(
            "the bundle comes from a device not enrolled in this facility; nothing was imported"
        )
    if device.refused:  # a retiring tablet may still hand in what it holds
        raise BundleError("the bundle comes from a revoked device; nothing was imported")
    bundle.verify(device.public_key)
    raws = bundle.decrypt(core.signer)
    result = ImportResult(header.bundle_id, device.device_id, facility_id, offered=len(raws))
    own = verifier or Verifier("inline")
    try:
        for start in range(0, len(raws), MAX_BATCH):
            outcome = push(core, own, device, raws[start : start + MAX_BATCH])
            result.stored += outcome.receipt.stored
            result.duplicates += outcome.receipt.duplicates
            result.rejections.extend(
                r.model_copy(update={"index": r.index + start}) for r in outcome.receipt.rejections
            )
    finally:
        if verifier is None:
            own.close()
    if result.stored:
        from sync.server.reconciliation import Reconciler

        Reconciler(core).after_push(facility_id, core.clock.now())
    return result


def import_bundle_file(core: ServerCore, path: Path, facility_id: str) -> ImportResult:
    """:func:`import_bundle` on a file. BundleError if it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}") from None
    return import_bundle(core, data, facility_id)
