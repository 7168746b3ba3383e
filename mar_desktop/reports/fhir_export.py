"""FHIR export: Patient, MedicationRequest and MedicationAdministration of a window as one
``collection`` Bundle (R4-compatible JSON, built and validated with fhir.resources R4B).

Status mapping. MedicationAdministration: given → ``completed``; refused, held, not available,
away, other → ``not-done`` with ``statusReason`` (the facility's reason code in
``urn:mar-desktop:reason-code:<facility>``, plus SNOMED CT / v3 ActReason where a standard
code fits, see :mod:`fhir_codes`); voided (entered in error) → ``entered-in-error``.
MedicationRequest: active → ``active``; held now → ``on-hold``; discontinued → ``stopped``;
ended → ``completed``. Doses carry UCUM units where the unit is known.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from mar_desktop.clock import utc_iso
from mar_desktop.errors import ValidationError
from mar_desktop.model import Order, Outcome, Resident
from mar_desktop.reports import fhir_codes as fc
from mar_desktop.reports.gather import ExportData
from mar_desktop.reports.text import directions_text, drug_text, frequency_text
from mar_desktop.views import AdministrationRecord, OrderState, OrderStatus


def _ref(kind: str, ident: str) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def patient(resident: Resident) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": resident.resident_id,
        "identifier": [{"system": fc.WRISTBAND_SYSTEM, "value": resident.wristband_id}],
        "active": resident.active,
        "name": [{"family": resident.family_name, "given": [resident.given_name]}],
        "birthDate": resident.date_of_birth.isoformat(),
    }


def medication_concept(order: Order) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": drug_text(order)}
    if order.ndcs:
        concept["coding"] = [{"system": fc.NDC, "code": ndc} for ndc in order.ndcs]
    return concept


def _timing(order: Order) -> dict[str, Any]:
    schedule = order.schedule
    repeat: dict[str, Any] = {}
    if schedule.kind == "fixed_times":
        repeat["timeOfDay"] = [f"{t}:00" for t in schedule.times]
        if schedule.days_of_week is not None:
            names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            repeat["dayOfWeek"] = [names[d] for d in schedule.days_of_week]
    elif schedule.kind == "every_n_hours":
        repeat.update(frequency=1, period=schedule.every_hours, periodUnit="h")
    elif schedule.prn_min_interval_minutes:
        repeat.update(frequency=1, period=schedule.prn_min_interval_minutes, periodUnit="min")
    return (
        {"repeat": repeat, "code": {"text": frequency_text(schedule)}}
        if repeat
        else {"code": {"text": frequency_text(schedule)}}
    )


def medication_request(state: OrderState, at: datetime) -> dict[str, Any]:
    order = state.order
    if state.status == OrderStatus.DISCONTINUED:
        status = "stopped"
    elif order.end is not None and order.end <= at:
        status = "completed"
    elif state.held_at(at) or state.status == OrderStatus.HELD:
        status = "on-hold"
    else:
        status = "active"
    dosage: dict[str, Any] = {
        "text": directions_text(order),
        "timing": _timing(order),
        "asNeededBoolean": order.is_prn,
        "route": {"text": order.route},
        "doseAndRate": [{"doseQuantity": fc.quantity(order.dose, order.dose_unit)}],
    }
    if order.schedule.prn_max_doses_24h:
        dosage["maxDosePerPeriod"] = {
            "numerator": {"value": order.schedule.prn_max_doses_24h, "unit": "dose"},
            "denominator": {"value": 24, "unit": "h", "system": fc.UCUM, "code": "h"},
        }
    if order.dose_max is not None:  # a range: its two ends (the text says a scale's rows)
        dosage["doseAndRate"] = [{"doseRange": {
            "low": fc.quantity(order.dose, order.dose_unit),
            "high": fc.quantity(order.dose_max, order.dose_unit),
        }}]
    if order.max_amount_24h is not None and "maxDosePerPeriod" not in dosage:
        dosage["maxDosePerPeriod"] = {
            "numerator": fc.quantity(order.max_amount_24h, order.max_amount_unit),
            "denominator": {"value": 24, "unit": "h", "system": fc.UCUM, "code": "h"},
        }
    period: dict[str, str] = {"start": utc_iso(order.start)}
    if order.end is not None:
        period["end"] = utc_iso(order.end)
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": order.order_id,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": medication_concept(order),
        "subject": _ref("Patient", order.resident_id),
        "authoredOn": utc_iso(order.start),
        "dosageInstruction": [dosage],
        "dispenseRequest": {"validityPeriod": period},
    }
    if order.prescriber:
        resource["requester"] = {"display": order.prescriber}
    if order.controlled_schedule:
        resource["extension"] = [
            {"url": fc.CONTROLLED_SCHEDULE_EXT, "valueCode": order.controlled_schedule}
        ]
    return resource


def medication_administration(record: AdministrationRecord, data: ExportData) -> dict[str, Any]:
    if record.voided:
        status = "entered-in-error"
    elif record.outcome == Outcome.GIVEN:
        status = "completed"
    else:
        status = "not-done"
    state = data.orders.get(record.order_id)
    concept = medication_concept(state.order) if state else {"text": "(unknown order)"}
    actor = data.users.get(record.actor_user_id)
    performers: list[dict[str, Any]] = [
        {
            "function": {"text": "performer"},
            "actor": {
                "display": actor.full_name if actor else record.actor_user_id,
                "identifier": {"value": record.actor_user_id},
            },
        }
    ]
    if record.witness_user_id:
        performers.append(
            {
                "function": {"text": "witness"},
                "actor": {
                    "display": record.witness_name or record.witness_user_id,
                    "identifier": {"value": record.witness_user_id},
                },
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": record.entry_id,
        "status": status,
        "medicationCodeableConcept": concept,
        "subject": _ref("Patient", record.resident_id),
        "effectiveDateTime": utc_iso(record.administered_at),
        "performer": performers,
        "request": _ref("MedicationRequest", record.order_id),
    }
    if status == "not-done" or (record.voided and record.outcome != Outcome.GIVEN):
        codings = [{"system": fc.OUTCOME_SYSTEM, "code": record.outcome.value}]
        codings += fc.STANDARD_NOT_GIVEN.get(record.outcome, [])
        if record.reason_code:
            codings.append(
                {
                    "system": fc.REASON_SYSTEM_PREFIX + data.facility.facility_id,
                    "code": record.reason_code,
                }
            )
        reason: dict[str, Any] = {"coding": codings}
        if record.reason_text:
            reason["text"] = record.reason_text
        resource["statusReason"] = [reason]
    if record.prn_reason:
        resource["reasonCode"] = [{"text": record.prn_reason}]
    dosage: dict[str, Any] = {}
    if record.dose_given is not None:
        dosage["dose"] = fc.quantity(record.dose_given, record.dose_unit)
    if record.route:
        dosage["route"] = {"text": record.route}
    if record.site:
        dosage["site"] = {"text": record.site}
    if dosage:
        resource["dosage"] = dosage
    notes = [
        n
        for n in (
            record.current_note,
            f"Voided: {record.void_reason}" if record.voided else "",
            f"Scheduled for {utc_iso(record.scheduled_for)}" if record.scheduled_for else "",
        )
        if n
    ]
    if notes:
        resource["note"] = [{"text": n} for n in notes]
    return resource


def fhir_bundle(data: ExportData) -> dict[str, Any]:
    """The Bundle as plain JSON-ready data (decimals as Decimal). Pure."""
    records = sorted(data.records.values(), key=lambda r: (r.administered_at, r.entry_id))
    resident_ids = {r.resident_id for r in records}
    states = [
        s
        for s in data.orders.values()
        if s.order.start < data.until
        and (s.discontinued_at is None or s.discontinued_at > data.since)
        and (s.order.end is None or s.order.end > data.since)
    ]
    resident_ids |= {s.order.resident_id for s in states}
    resources: list[dict[str, Any]] = [
        patient(data.residents[rid]) for rid in sorted(resident_ids) if rid in data.residents
    ]
    resources += [
        medication_request(s, data.until)
        for s in sorted(states, key=lambda s: (s.order.resident_id, s.order_id))
    ]
    resources += [medication_administration(r, data) for r in records]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": utc_iso(data.exported_at),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{r['id']}"
                if _is_uuid(r["id"])
                else f"urn:mar-desktop:{r['resourceType']}:{r['id']}",
                "resource": r,
            }
            for r in resources
        ],
    }


def _is_uuid(text: str) -> bool:
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12]


def fhir_bundle_json(data: ExportData) -> bytes:
    """The Bundle validated by fhir.resources (R4B) and serialised to JSON bytes.
    Raises ValidationError if the model refuses it (a bug: the message names the element)."""
    try:
        model = Bundle.model_validate(fhir_bundle(data))
    except ValueError as exc:
        raise ValidationError(f"FHIR bundle did not validate: {str(exc)[:300]}") from exc
    return str(model.model_dump_json(exclude_none=True)).encode("utf-8")
