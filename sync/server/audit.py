"""The server's own audit: who did what through the API or the command line, and from where.

Every enrolment (and refused code), device sign-in (and refusal), push, pull that handed out
entries or credential records, credential change, revocation, retirement and access report is
one row of ``server_audit`` (append-only, like the entries): UTC time, facility, device,
action, the client address and a plain detail line. The address is the TCP peer, or the
client a trusted proxy names (``--trusted-proxy`` / ``MAR_TRUSTED_PROXIES``; uvicorn replaces
the peer only for those), or ``cli:<user>`` for a command run on the server host.
``mar-server audit`` exports it as CSV.

An idle poll (a cursor read, an empty feed page, the device list) is not audited: it hands out
nothing and would bury what matters. Details hold counts, ids and reasons, never PHI, secrets,
tokens or keys. Threads: any; each call is one short committed transaction (or a row of the
caller's). Raises ``StorageError`` like every store call: a request whose audit row cannot be
written fails.
"""

from __future__ import annotations

import csv
import getpass
import io
from collections.abc import Iterable

from fastapi import Request

from mar_desktop.clock import Clock, utc_iso
from sync.server.store import AuditRow, DeviceRecord, Store, WriteTxn

# Actions (kept listed so a typo is a test failure, not a gap).
ENROLLED = "enrolled"
ENROL_REFUSED = "enrol_refused"
SIGNED_IN = "signed_in"
SIGN_IN_REFUSED = "sign_in_refused"
REVOKED_CONTACT = "revoked_device_refused"
PUSHED = "pushed"
RELAYED = "relayed"
PULLED = "pulled"
AUDIT_PULLED = "audit_pulled"
CREDENTIALS_PULLED = "credentials_pulled"
CREDENTIAL_STORED = "credential_stored"
CREDENTIAL_REFUSED = "credential_refused"
REVOKED = "revoked"
RETIRED = "retired"
BUNDLE_IMPORTED = "bundle_imported"
ACCESS_REPORT = "access_report"  # mar-server access-report (detail: "resident <id> ...")
SECRETS_KEY_ROTATED = "secrets_key_rotated"

COLUMNS = ("at", "facility_id", "device_id", "action", "address", "detail")


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it (a trusted proxy's client, else the peer)."""
    return request.client.host if request.client is not None else None


def cli_address() -> str:
    """``cli:<user>``: an action taken on the server host's command line."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        user = "unknown"
    return f"cli:{user}"


def row(
    clock: Clock,
    action: str,
    *,
    address: str | None,
    device: DeviceRecord | None = None,
    facility_id: str | None = None,
    device_id: str | None = None,
    detail: str = "",
) -> AuditRow:
    """One audit row at ``clock.now()``; facility and device from ``device`` when given."""
    return AuditRow(
        at=utc_iso(clock.now()),
        facility_id=device.facility_id if device is not None else facility_id,
        device_id=device.device_id if device is not None else device_id,
        action=action,
        address=address,
        detail=detail[:500],
    )


def record(store: Store | WriteTxn, audit_row: AuditRow) -> None:
    """Writes ``audit_row`` (in its own transaction on a store, in the caller's on a txn)."""
    store.add_audit(audit_row)


def to_csv(rows: Iterable[AuditRow]) -> str:
    """The export: a header and one line per row, in :data:`COLUMNS` order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.at,
                r.facility_id or "",
                r.device_id or "",
                r.action,
                _cell(r.address or ""),
                _cell(r.detail),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (a label may start with ``=``)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
