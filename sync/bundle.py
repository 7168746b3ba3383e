"""Export-pending bundles, the tablet side: a tablet's unacknowledged entries, carried to the
server by hand.

After a long outage ``mar-desktop export-pending --out FILE`` writes every entry of this device
(ledger and audit chains) above the seq the server last acknowledged (``acked_ledger`` /
``acked_audit`` in :mod:`storage.sync_state`) into one file, encrypted to the enrolled server
and signed by this device (the file format: :mod:`sync.bundle_format`). ``mar-server
import-bundle FILE`` (:mod:`sync.server.bundle_import`) checks and stores them through the same
code as an online push. Nothing on the tablet changes except one ``audit.exported`` entry
(appended first, so it travels in the bundle too); the tablet learns what the server holds at
its next online sync, as always (the server's cursor).

Threads: any; the functions here do blocking file and database I/O. Keys and entries never
appear in logs or messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any, Protocol

from mar_desktop import audit
from mar_desktop.clock import Clock, SystemClock, utc_iso
from mar_desktop.envelope import SYSTEM_ACTOR, Chain, new_id
from mar_desktop.errors import SyncError
from storage.database import Connection
from storage.ledger import load_identity
from storage.sync_state import SyncState, acked_cursor
from sync.bundle_format import CHAINS, seal

_READ_BATCH = 2000


# ---- the tablet side ----------------------------------------------------------------------------
class _Store(Protocol):
    """What :func:`export_pending` needs (``storage.local_store.LocalStore``)."""

    @property
    def ledger(self) -> Any: ...

    def connect_reader(self) -> Connection: ...


@dataclass(frozen=True, slots=True)
class ExportResult:
    bundle_id: str
    ledger_entries: int
    audit_entries: int
    path: Path


def pending_entries(state: SyncState, device_id: str) -> dict[Chain, list[bytes]]:
    """This device's entries above the server-acknowledged seq of each chain, in seq order."""
    out: dict[Chain, list[bytes]] = {}
    for chain in CHAINS:
        after, _ = state.cursor(acked_cursor(chain))
        rows: list[bytes] = []
        while True:
            batch = state.own_entries_after(device_id, chain, after, _READ_BATCH)
            rows.extend(raw for _, raw in batch)
            if len(batch) < _READ_BATCH:
                break
            after = batch[-1][0]
        out[chain] = rows
    return out


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_pending(store: _Store, out: Path, clock: Clock | None = None) -> ExportResult | None:
    """Writes the bundle of this tablet's unacknowledged entries to ``out`` (mode 0600,
    atomically); ``None`` (and no file) when nothing is waiting. Appends one
    ``audit.exported`` entry first, which travels in the bundle. Raises ``SyncError`` when the
    tablet is not enrolled, ``StorageError`` for database trouble, ``OSError`` for the file."""
    clock = clock or SystemClock()
    conn = store.connect_reader()
    state = SyncState(lambda: conn, clock)
    try:
        identity = load_identity(conn)
        server = state.server()
        if server is None:
            raise SyncError("This tablet is not enrolled with a server; there is nothing to send.")
        waiting = sum(
            state.count_after(identity.device_id, c, state.cursor(acked_cursor(c))[0])
            for c in CHAINS
        )
        if waiting == 0:
            return None
        bundle_id = new_id()
        store.ledger.append(
            [
                audit.audit_draft(
                    audit.EXPORTED,
                    actor=SYSTEM_ACTOR,
                    user_name="mar-desktop export-pending",
                    entity_type="sync_bundle",
                    entity_id=bundle_id,
                    detail=f"{waiting} unsynced entries exported for manual import by the server",
                )
            ]
        )
        entries = pending_entries(state, identity.device_id)
        data = seal(
            entries,
            facility_id=identity.facility_id,
            device_id=identity.device_id,
            signer=identity.signer,
            server_id=server.server_id,
            server_public_key=server.server_public_key,
            created_at=utc_iso(clock.now().astimezone(UTC)),
            bundle_id=bundle_id,
        )
    finally:
        conn.close()
    _write_atomically(out, data)
    return ExportResult(bundle_id, len(entries["ledger"]), len(entries["audit"]), out)
