"""One-line, human-readable summaries of ledger entries for the chronological export PDF."""

from __future__ import annotations

from typing import Any

from mar_desktop import kinds
from mar_desktop.clinical.overrides import override_label
from mar_desktop.clinical.routes import route_words
from mar_desktop.clock import parse_utc
from mar_desktop.envelope import Entry
from mar_desktop.reports.gather import ExportData
from mar_desktop.reports.text import drug_text


def _short(entry_id: str) -> str:
    return entry_id[-12:]


def resident_label(data: ExportData, resident_id: str | None) -> str:
    if not resident_id:
        return ""
    resident = data.residents.get(resident_id)
    if resident is None:
        return f"(resident {_short(resident_id)})"
    return f"{resident.room} {resident.family_name.upper()}, {resident.given_name}"


def order_label(data: ExportData, order_id: str | None) -> str:
    state = data.orders.get(order_id or "")
    return drug_text(state.order) if state else (f"(order {_short(order_id)})" if order_id else "")


def entry_resident_id(entry: Entry, data: ExportData) -> str | None:
    """The resident an entry is about, if any (directly, or through its target/order)."""
    body: dict[str, Any] = entry.body
    if isinstance(body.get("resident_id"), str):
        return str(body["resident_id"])
    for key in ("resident", "order"):
        inner = body.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("resident_id"), str):
            return str(inner["resident_id"])
    target = body.get("target_entry_id")
    if isinstance(target, str) and target in data.records:
        return data.records[target].resident_id
    order_id = body.get("order_id")
    if isinstance(order_id, str) and order_id in data.orders:
        return data.orders[order_id].order.resident_id
    return None


def entry_order_id(entry: Entry, data: ExportData) -> str | None:
    body: dict[str, Any] = entry.body
    if isinstance(body.get("order_id"), str):
        return str(body["order_id"])
    inner = body.get("order")
    if isinstance(inner, dict) and isinstance(inner.get("order_id"), str):
        return str(inner["order_id"])
    target = body.get("target_entry_id")
    if isinstance(target, str) and target in data.records:
        return data.records[target].order_id
    return None


def overrides_summary(body: dict[str, Any]) -> str:
    """An ``administration.overrides`` entry in words: each warning accepted, its reason and
    who accepted it (never the raw code)."""
    items = body.get("overrides")
    listed = [
        f"{override_label(str(o.get('code', '')))}: {o.get('reason', '')} "
        f"({o.get('full_name', '')})"
        for o in (items if isinstance(items, list) else [])
        if isinstance(o, dict)
    ]
    dose = _short(str(body.get("administration_entry_id", "")))
    return f"Warnings accepted for dose …{dose}: " + "; ".join(listed)


def summarize(entry: Entry, data: ExportData) -> str:
    """What the entry says, in a line a surveyor can read (local times)."""
    body: dict[str, Any] = entry.body
    zone = data.facility.zone
    kind = entry.kind

    def local(key: str) -> str:
        value = body.get(key)
        return parse_utc(value).astimezone(zone).strftime("%m-%d %H:%M") if value else ""

    if kind == kinds.ADMINISTRATION_RECORDED:
        parts = [order_label(data, body.get("order_id")), str(body.get("outcome", "")).upper()]
        given = body.get("dose_given")
        amount = f"{given} {body.get('dose_unit', '')}" if given else ""
        route = route_words(str(body["route"])) if body.get("route") else ""  # as on screen
        parts.append(f"{amount.strip()} {route}".strip())
        parts.append(f"sched {local('scheduled_for')}" if body.get("scheduled_for") else "PRN")
        parts.append(f"at {local('administered_at')}")
        for key, label in (
            ("reason_code", "code"),
            ("reason_text", "reason"),
            ("prn_reason", "PRN reason"),
            ("note", "note"),
        ):
            if body.get(key):
                parts.append(f"{label}: {body[key]}")
        witness = body.get("witness")
        if isinstance(witness, dict):
            parts.append(f"witness: {witness.get('full_name', '')}")
        parts += [f"override: {o.label}: {o.reason}" for o in data.overrides.get(entry.id, ())]
        return "; ".join(p for p in parts if p)
    if kind == kinds.ADMINISTRATION_OVERRIDES:
        return overrides_summary(body)
    target = _short(str(body.get("target_entry_id", "")))
    if kind == kinds.ENTRY_VOIDED:
        return f"Voided entry …{target}: {body.get('reason', '')}"
    if kind == kinds.NOTE_AMENDED:
        return f"Note of entry …{target} amended: {body.get('text', '')}"
    if kind == kinds.PRN_FOLLOWUP_RECORDED:
        effect = str(body.get("effective", "")).replace("_", " ")
        return f"PRN follow-up of …{target}: {effect} {body.get('note', '')}".strip()
    if kind.startswith("order."):
        inner = body.get("order")
        drug = (
            inner.get("drug", "")
            if isinstance(inner, dict)
            else order_label(data, body.get("order_id"))
        )
        reason = body.get("reason", "")
        return f"{kind.split('.', 1)[1].capitalize()}: {drug}" + (f" - {reason}" if reason else "")
    if kind.startswith("user."):
        user = body.get("user") or body.get("after") or {}
        return f"{kind}: {user.get('full_name', '')} ({user.get('role', '')})"
    if kind == kinds.ALERT_RAISED:
        return f"Alert {body.get('alert_type', '')}: {body.get('detail', '')}"
    if kind == kinds.ALERT_ACKNOWLEDGED:
        return f"Alert acknowledged: {body.get('comment', '')}"
    return kind
