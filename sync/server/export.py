"""``mar-server export``: the surveyor export of a window, made from the server's store.

A tablet keeps (and a new tablet fetches) only the facility's recent history (``history-days``,
default 400); the server holds every entry. For an older window, or a tablet no longer at
hand, the administrator exports from the server: the same folder a tablet's export writes
(``entries.csv``, ``entries.pdf``, ``manifest.json``; :mod:`mar_desktop.reports.export`), made by
the same renderers from the facility's stored ledger entries
(:func:`mar_desktop.reports.ledger_view.export_data_from_entries`), and checked by the same
``mar-desktop check-export``. The manifest is signed with the server's key (the facility key
tablets pin at enrolment) under the facility's server device id; its ``ledger_verification``
is ``mar-server verify``'s summary of the whole store, taken before the export is written.

Who made the export (``--by``, a person's name) is printed in the files and, with the window and
the number of entries, written to the server's audit (action ``exported``, address
``cli:<user>``), never PHI. Reads the store, writes the files owner-only. Any thread (the CLI's).
Raises ValidationError (bad window, folder in use), NotFound (unknown facility), StorageError.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mar_desktop import kinds
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.errors import IntegrityError, NotFound, ValidationError
from mar_desktop.model import Role, User
from mar_desktop.reports.data import Progress, no_progress
from sync.server import audit as server_audit
from sync.server.core import ServerCore
from sync.server.store import Store

PAGE = 2000  # stored entries read per query
SERVER_USER_ID = "mar-server"


@dataclass(frozen=True, slots=True)
class ServerExport:
    """What was written: the number of ledger entries and the verification summary."""

    entries: int
    verification: str


def _ledger(store: Store, facility_id: str) -> Iterator[Entry]:
    """Every ledger-chain entry of the facility, in the order the server stored them."""
    after = 0
    while True:
        page = store.feed(facility_id, "ledger", after, PAGE)
        if not page:
            return
        for stored in page:
            try:
                yield parse_raw(stored.raw)
            except ValueError as exc:
                raise IntegrityError(
                    "A stored entry is damaged; run 'mar-server verify'.") from exc
        after = page[-1].pos


def facility_zone(store: Store, facility_id: str) -> str:
    """The facility's IANA time zone as its latest ``facility.configured`` entry (by any
    device) sets it; "UTC" if none does (bare dates of a window are midnights there)."""
    devices = {d.device_id for d in store.devices(facility_id)}
    server = store.server_device(facility_id)
    if server is not None:
        devices.add(server.device_id)
    last = store.last_pos(facility_id, "ledger")
    found = [e for d in sorted(devices)
             for e in store.entries_of_kinds(facility_id, d, [kinds.FACILITY_CONFIGURED], last)]
    if not found:
        return "UTC"
    latest = max(found, key=lambda e: e.pos)
    body = kinds.parse_body(kinds.FACILITY_CONFIGURED, parse_raw(latest.raw).body)
    return body.facility.timezone if isinstance(body, kinds.FacilityConfigured) else "UTC"


def exporter(name: str) -> User:
    """The person making the export, as the files name them (role: facility administrator,
    the role that may export on a tablet)."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationError("Give the name of the person making the export (--by).")
    initials = "".join(part[0] for part in cleaned.split()[:4]).upper()
    try:
        return User(user_id=SERVER_USER_ID, username=SERVER_USER_ID, full_name=cleaned,
                    initials=initials, credentials="", role=Role.FACILITY_ADMIN)
    except ValueError:
        raise ValidationError("The name given with --by is not a usable name.") from None


def export_window(
    core: ServerCore,
    facility_id: str,
    out_dir: Path,
    *,
    since: datetime,
    until: datetime,
    by: str,
    address: str,
    pagesize: str = "letter",
    progress: Progress = no_progress,
) -> ServerExport:
    """Writes the surveyor export of ``[since, until)`` of ``facility_id`` into ``out_dir``
    (new or empty) and audits it; see the module docstring."""
    from mar_desktop.reports.export import write_surveyor_export
    from mar_desktop.reports.ledger_view import export_data_from_entries
    from sync.server.verify import verify_store

    if facility_id not in core.store.facility_ids():
        raise NotFound("unknown facility")
    server = core.store.server_device(facility_id)
    if server is None:
        raise NotFound("this facility has no server device")
    device_id = server.device_id
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValidationError("The export folder must be new or empty.")
    user = exporter(by)
    progress(0.0, "Verifying the stored chains")
    verification = verify_store(core.store).summary()
    progress(0.05, "Reading the ledger")
    data = export_data_from_entries(_ledger(core.store, facility_id), since=since, until=until,
                                    exported_by=user, exported_at=core.clock.now())
    manifest = write_surveyor_export(data, out_dir, signer=core.signer, device_id=device_id,
                                     verification=verification, pagesize=pagesize,
                                     progress=progress)
    count = int(manifest["entries"])
    server_audit.record(core.store, server_audit.row(
        core.clock, server_audit.EXPORTED, address=address, facility_id=facility_id,
        device_id=device_id,
        detail=f"surveyor export {utc_iso(since)} to {utc_iso(until)}, {count} entries, "
               f"by {user.full_name}"))
    return ServerExport(count, verification)
