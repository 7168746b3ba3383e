"""Who saw this resident: the access report of ONE resident over a time window, built from the
ledger, the tablets' audit chains and the server's own audit
(docs/architecture.md#who-saw-this-resident).

Pure: no I/O. The caller (the tablet's :mod:`mar_desktop.services.access_report`, the server's
``mar-server access-report``) hands in

- ``mentions``: ledger entries of ANY time whose bytes contain the resident's id (a superset:
  each is checked here). They say which orders, doses and alerts are the resident's, so a void,
  a note, a hold or a verification that names only an order or a dose is traced back;
- ``window``: every entry (ledger and audit chains) recorded in the window;
- ``server_events``: the server audit's rows in the window (device sign-ins with the address
  the server saw, access reports run on the server).

Rows, oldest first, each with time, person, role, device, IP where one was recorded, action
(:data:`ACTIONS`) and what. What is listed:

- **dose** and **change**: the resident's ledger entries (doses, urgent-dose flags, follow-ups,
  notes, voids, order entries and verifications, resident record changes, alerts and their
  acknowledgements). Their ``audit.record_*`` twins, written in the same transaction, are not
  listed again;
- **view**, **print**, **export**, **refused**: audit events naming the resident
  (``entity_type`` resident and its id, or ``after.resident_ids`` of a print, an export or an
  audit-log search filtered to them);
- **sign-in**, **sign-out**: sign-ins, failed sign-ins, sign-outs and emergency access of the
  people who touched the record in the window (on any device whose audit chain is held), and
  the server sign-ins of the devices the record was touched on, with the address the server saw.

Nothing about another resident is listed: every row is kept only if it names this resident or
is a sign-in/out of a person or device that touched this resident in the window. When unsure
(an audit event whose resident cannot be told), the event is left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mar_desktop import audit, kinds
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import AUDIT_PREFIX, Entry
from mar_desktop.errors import ValidationError

VIEW = "view"
PRINT = "print"
EXPORT = "export"
DOSE = "dose"
CHANGE = "change"
SIGN_IN = "sign-in"
SIGN_OUT = "sign-out"
REFUSED = "refused"
ACTIONS = (VIEW, PRINT, EXPORT, DOSE, CHANGE, SIGN_IN, SIGN_OUT, REFUSED)

SERVER_SIGNED_IN = "signed_in"  # sync.server.audit's action names (the core cannot import it)
SERVER_SIGN_IN_REFUSED = "sign_in_refused"
SERVER_ACCESS_REPORT = "access_report"

_DOSE_KINDS = frozenset(
    {kinds.ADMINISTRATION_RECORDED, kinds.URGENT_DOSE_RECORDED, kinds.PRN_FOLLOWUP_RECORDED}
)
_TWINS = frozenset({audit.RECORD_CREATED, audit.RECORD_AMENDED, audit.RECORD_VOIDED,
                    audit.ALERT_ACKNOWLEDGED})
"""Audit actions that only repeat a ledger entry of the same transaction (listed from it)."""
_SESSION_ACTIONS: Mapping[str, tuple[str, str]] = {
    audit.LOGIN: (SIGN_IN, "Signed in"),
    audit.LOGIN_FAILED: (SIGN_IN, "Sign-in failed"),
    audit.EMERGENCY_ACCESS: (SIGN_IN, "Emergency access started"),
    audit.OFFLINE_BREAK_GLASS: (SIGN_IN, "Break-glass sign-in past the offline limit"),
    audit.LOGOUT: (SIGN_OUT, "Signed out"),
    audit.EMERGENCY_ACCESS_ENDED: (SIGN_OUT, "Emergency access ended"),
}


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One row of the server's own audit, as the report reads it."""

    audit_id: int
    at: str  # RFC 3339 UTC
    device_id: str | None
    action: str
    address: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class AccessRow:
    """One access. ``at`` is RFC 3339 UTC; ``ip`` is empty where none was recorded;
    ``source`` says which record it comes from (``ledger``, ``tablet audit``, ``server audit``)
    and ``ref`` its id there (an entry id, or ``server_audit:N``)."""

    at: str
    person: str
    user_id: str
    role: str
    device: str
    device_id: str
    ip: str
    action: str
    what: str
    source: str
    ref: str


@dataclass(frozen=True, slots=True)
class AccessReport:
    resident_id: str
    since: datetime
    until: datetime
    rows: tuple[AccessRow, ...]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


@dataclass
class _Known:
    """What the resident's own ledger entries (any time) say is theirs."""

    orders: set[str]
    doses: set[str]
    alerts: set[str]


def check_window(since: datetime, until: datetime) -> None:
    """Raises ValidationError unless ``since < until``, both with a time zone."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValidationError("The report window needs times with a time zone.")
    if until <= since:
        raise ValidationError("The report window must end after it starts.")


def build_access_report(
    resident_id: str,
    since: datetime,
    until: datetime,
    *,
    mentions: Iterable[Entry],
    window: Iterable[Entry],
    server_events: Iterable[ServerEvent] = (),
    names: Mapping[str, str] | None = None,
    devices: Mapping[str, str] | None = None,
) -> AccessReport:
    """The report (see the module docstring). ``names``: user id -> printed name;
    ``devices``: device id -> label. Raises ValidationError for a bad window or no resident."""
    if not resident_id:
        raise ValidationError("Choose a resident.")
    check_window(since, until)
    start, end = utc_iso(since), utc_iso(until)
    names = dict(names or {})
    devices = dict(devices or {})
    known = _known([e for e in mentions if not e.kind.startswith(AUDIT_PREFIX)], resident_id)
    in_window: dict[str, Entry] = {}
    for entry in window:
        if start <= entry.recorded_at < end:
            in_window.setdefault(entry.id, entry)
    for entry in in_window.values():  # printed names the audit events carry
        if entry.kind.startswith(AUDIT_PREFIX):
            body = entry.body
            if body.get("user_id") and body.get("user_name"):
                names.setdefault(str(body["user_id"]), str(body["user_name"]))
    rows: list[AccessRow] = []
    sessions: list[Entry] = []
    for entry in sorted(in_window.values(), key=lambda e: (e.recorded_at, e.device_id, e.seq)):
        if entry.kind.startswith(AUDIT_PREFIX):
            action = entry.kind[len(AUDIT_PREFIX):]
            if action in _SESSION_ACTIONS:
                sessions.append(entry)
                continue
            row = _audit_row(entry, action, resident_id, names, devices)
        else:
            row = _ledger_row(entry, resident_id, known, names, devices)
        if row is not None:
            rows.append(row)
    people = {r.user_id for r in rows if r.user_id}
    involved = {r.device_id for r in rows if r.device_id}
    for entry in sessions:
        body = entry.body
        if str(body.get("user_id", "")) in people:
            action, words = _SESSION_ACTIONS[entry.kind[len(AUDIT_PREFIX):]]
            detail = str(body.get("detail") or "")
            rows.append(_row(entry, names, devices, action,
                             words + (f" ({detail})" if detail else ""), "tablet audit"))
    for event in server_events:
        row = _server_row(event, resident_id, involved, devices, start, end)
        if row is not None:
            rows.append(row)
    rows.sort(key=lambda r: (r.at, r.device_id, r.ref))
    return AccessReport(resident_id, since, until, tuple(rows))


def _known(entries: list[Entry], resident_id: str) -> _Known:
    known = _Known(set(), set(), set())
    for entry in entries:
        body = entry.body
        if _direct(body) != resident_id:
            continue
        if entry.kind in (kinds.ORDER_CREATED, kinds.ORDER_CHANGED):
            known.orders.add(str(body["order"]["order_id"]))
        elif entry.kind == kinds.ADMINISTRATION_RECORDED:
            known.doses.add(entry.id)
        elif entry.kind == kinds.ALERT_RAISED and isinstance(body.get("alert_id"), str):
            known.alerts.add(body["alert_id"])
    return known


def _direct(body: Mapping[str, Any]) -> str | None:
    """The resident a body names itself (its own field, or its resident's or order's)."""
    value = body.get("resident_id")
    if isinstance(value, str):
        return value
    for key in ("resident", "order"):
        inner = body.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("resident_id"), str):
            return str(inner["resident_id"])
    return None


def _touches(entry: Entry, resident_id: str, known: _Known) -> bool:
    body = entry.body
    if _direct(body) == resident_id:
        return True
    if body.get("target_entry_id") in known.doses or body.get("order_id") in known.orders:
        return True
    if body.get("alert_id") in known.alerts and entry.kind == kinds.ALERT_ACKNOWLEDGED:
        return True
    order_ids = body.get("order_ids")
    return isinstance(order_ids, list) and any(o in known.orders for o in order_ids)


def _ledger_row(
    entry: Entry,
    resident_id: str,
    known: _Known,
    names: Mapping[str, str],
    devices: Mapping[str, str],
) -> AccessRow | None:
    if not _touches(entry, resident_id, known):
        return None
    action = DOSE if entry.kind in _DOSE_KINDS else CHANGE
    return _row(entry, names, devices, action, _ledger_words(entry), "ledger")


def _ledger_words(entry: Entry) -> str:
    body = entry.body
    kind = entry.kind
    if kind == kinds.ADMINISTRATION_RECORDED:
        outcome = str(body.get("outcome", "")).replace("_", " ")
        dose = f" {body.get('dose_given')} {body.get('dose_unit', '')}".rstrip() \
            if body.get("dose_given") else ""
        return f"Dose {outcome}{dose} (order {_short(body.get('order_id'))})"
    if kind == kinds.URGENT_DOSE_RECORDED:
        return f"Urgent dose on an unverified order: {body.get('reason', '')}"
    if kind == kinds.PRN_FOLLOWUP_RECORDED:
        return f"PRN follow-up: {str(body.get('effective', '')).replace('_', ' ')}"
    if kind == kinds.NOTE_AMENDED:
        return f"Note amended on dose {_short(body.get('target_entry_id'))}"
    if kind == kinds.ENTRY_VOIDED:
        return f"Dose {_short(body.get('target_entry_id'))} voided: {body.get('reason', '')}"
    if kind == kinds.ALERT_RAISED:
        return f"Alert raised: {str(body.get('alert_type', '')).replace('_', ' ')}"
    if kind == kinds.ALERT_ACKNOWLEDGED:
        return "Alert acknowledged"
    if kind.startswith(("order.", "resident.")):
        inner = body.get("order")
        drug = f" {inner.get('drug', '')}" if isinstance(inner, dict) else ""
        subject = _short(body.get("order_id")) if "order_id" in body else ""
        label = kind.replace(".", " ").replace("_", " ").capitalize()
        return f"{label}{drug}" + (f" (order {subject})" if subject and not drug else "")
    return kind


def _audit_row(
    entry: Entry,
    action: str,
    resident_id: str,
    names: Mapping[str, str],
    devices: Mapping[str, str],
) -> AccessRow | None:
    if action in _TWINS:
        return None
    body = entry.body
    entity_type = str(body.get("entity_type", ""))
    names_resident = entity_type == "resident" and body.get("entity_id") == resident_id
    after = body.get("after")
    listed = isinstance(after, dict) and isinstance(after.get("resident_ids"), list) \
        and resident_id in after["resident_ids"]
    detail = str(body.get("detail") or "")
    report = str(after.get("report", "")) if isinstance(after, dict) else ""
    if action == audit.RESIDENT_VIEWED and names_resident:
        return _row(entry, names, devices, VIEW, detail or "Opened the resident's record",
                    "tablet audit")
    if action == audit.AUDIT_VIEWED and names_resident:
        return _row(entry, names, devices, VIEW, detail or "Viewed the resident's access report",
                    "tablet audit")
    if action == audit.AUDIT_VIEWED and listed:
        return _row(entry, names, devices, VIEW, f"Searched the audit log for this resident "
                    f"({detail})", "tablet audit")
    if action == audit.PERMISSION_REFUSED and names_resident:
        return _row(entry, names, devices, REFUSED, f"Refused: {detail}", "tablet audit")
    if action == audit.PRINTED and (listed or names_resident):
        return _row(entry, names, devices, PRINT, f"Printed {_report_words(report, detail)}",
                    "tablet audit")
    if action == audit.EXPORTED and (listed or names_resident):
        return _row(entry, names, devices, EXPORT, f"Exported {_report_words(report, detail)}",
                    "tablet audit")
    return None


def _report_words(report: str, detail: str) -> str:
    return report.replace("_", " ") if report else detail


def _server_row(
    event: ServerEvent,
    resident_id: str,
    involved: set[str],
    devices: Mapping[str, str],
    start: str,
    end: str,
) -> AccessRow | None:
    if not start <= event.at < end:
        return None
    device_id = event.device_id or ""
    label = devices.get(device_id, device_id)
    ref = f"server_audit:{event.audit_id}"
    ip = event.address or ""
    if event.action in (SERVER_SIGNED_IN, SERVER_SIGN_IN_REFUSED) and device_id in involved:
        words = "Device signed in to the server" if event.action == SERVER_SIGNED_IN \
            else "Device sign-in to the server refused"
        return AccessRow(event.at, f"device {label}", "", "device", label, device_id, ip,
                         SIGN_IN, words, "server audit", ref)
    if event.action == SERVER_ACCESS_REPORT and event.detail.startswith(f"resident {resident_id} "):
        return AccessRow(event.at, ip, "", "server operator", "mar-server", device_id, ip, EXPORT,
                         f"Access report on the server: {event.detail}", "server audit", ref)
    return None


def _row(
    entry: Entry,
    names: Mapping[str, str],
    devices: Mapping[str, str],
    action: str,
    what: str,
    source: str,
) -> AccessRow:
    user_id = str(entry.actor.get("user_id", ""))
    body = entry.body
    ip = str(body.get("ip") or "") if entry.kind.startswith(AUDIT_PREFIX) else ""
    return AccessRow(
        at=entry.recorded_at,
        person=names.get(user_id, user_id),
        user_id=user_id,
        role=str(entry.actor.get("role", "")).replace("_", " "),
        device=devices.get(entry.device_id, entry.device_id),
        device_id=entry.device_id,
        ip=ip,
        action=action,
        what=what[:300],
        source=source,
        ref=entry.id,
    )


def _short(value: object) -> str:
    text = str(value or "")
    return text[-12:] if len(text) > 12 else text


def names_from_entries(entries: Iterable[Entry]) -> dict[str, str]:
    """User id -> printed name from ``user.created`` / ``user.changed`` ledger entries (the
    latest wins), for a reader that has no read model (the server)."""
    out: dict[str, str] = {}
    for entry in sorted(entries, key=lambda e: e.recorded_at):
        body = entry.body
        user = body.get("user") or body.get("after")
        if isinstance(user, dict) and user.get("user_id") and user.get("full_name"):
            out[str(user["user_id"])] = str(user["full_name"])
    return out
