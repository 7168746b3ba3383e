"""Importing a pharmacy's MedicationRequest bundle into orders, entry by entry.

``import_medication_requests`` never stores anything: it returns the orders it could build and,
for every other MedicationRequest (or unexpected resource), a rejection with a plain reason; the
order service records the accepted ones. Patient and Medication entries are supporting data.

Mapping: subject → a resident (``Patient/<resident id>``, or a Patient of the bundle / the
subject's identifier matching a wristband id or resident id); medicationCodeableConcept or a
(contained or bundled) Medication → drug, strength, form, NDCs; the first dosageInstruction →
dose (``doseQuantity``, UCUM mapped back), route, schedule (``timeOfDay`` [+ ``dayOfWeek``] →
fixed times; ``frequency 1 per N h`` → every N hours; ``asNeededBoolean`` → PRN with
``period``/``periodUnit`` as minimum interval and ``maxDosePerPeriod`` per 24 h: a count of
doses, or, when its numerator is an amount in mass, volume or units ("3 g"), the order's 24 h
amount maximum of its ingredient), ``doseRange`` (low–high) → a dose range; a sliding scale
(which FHIR has no structure for: the dosage text says "sliding scale") is refused, to be
entered by hand with its table; text →
instructions; validityPeriod (else authoredOn, else now) → start/end; requester.display →
prescriber; the controlled schedule from the medication's names and RxNorm codes
(:mod:`mar_desktop.clinical.controlled`) and the ``urn:mar-desktop:fhir:controlled-schedule``
extension, which must agree when both are given.
Only ``status: active`` with intent order/original-order is accepted.

Each accepted request has a **source key**, what makes a second import of it recognisable: its
first identifier with a system and a value, else its id (with the bundle's ``meta.source``, when
the bundle names one). Its order id is derived from the key and the resident
(:func:`imported_order_id`), so the same request imported again names the same order; a
request with neither identifier nor id is refused. :mod:`mar_desktop.services.order_import`
decides create, skip or change.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest
from pydantic import ValidationError as PydanticValidationError

from mar_desktop.clinical.controlled import RXNORM, schedule_of
from mar_desktop.clinical.controlled import TABLE_VERSION as CONTROLLED_TABLE
from mar_desktop.clinical.dose import unit_of
from mar_desktop.clock import parse_utc
from mar_desktop.errors import ValidationError
from mar_desktop.model import Order, Resident, Schedule
from mar_desktop.reports import fhir_codes as fc

SUPPORTING = frozenset({"Patient", "Medication"})
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_UNIT_MINUTES = {"min": 1, "h": 60, "d": 1440}


class Refused(Exception):
    """One entry cannot become an order; ``str()`` is the reason (no PHI)."""


@dataclass(frozen=True, slots=True)
class ImportRejection:
    index: int  # position in bundle.entry
    resource_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class AcceptedOrder:
    index: int
    resource_id: str | None  # the pharmacy's MedicationRequest id
    order: Order  # its order id: imported_order_id(source_key, resident)
    source_key: str
    source_values: tuple[tuple[str, str], ...] = ()
    """The pharmacy's values as the request states them (:func:`pharmacy_values`), for the
    verification screen beside the transcription."""


_IMPORTED = uuid.UUID("8f1b7f0e-5d0a-4c53-9d5e-1f3a3c0b6a11")
"""Namespace of the order ids derived from a pharmacy's request (UUIDv5)."""


def imported_order_id(source_key: str, resident_id: str, *, variant: str = "") -> str:
    """The order id of the request ``source_key`` for ``resident_id`` (``variant``: a later
    version of it, see :mod:`mar_desktop.services.order_import`)."""
    return str(uuid.uuid5(_IMPORTED, f"{resident_id}\n{source_key}\n{variant}"))


def _source_key(resource: dict[str, Any], source: str) -> str:
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
            return f"identifier:{ident['system']}|{ident['value']}"
    if resource.get("id"):
        return f"id:{source}#{resource['id']}"
    raise Refused(
        "it has neither an identifier nor an id, so importing it again could not be told from a "
        "new order"
    )


@dataclass(frozen=True, slots=True)
class ImportResult:
    accepted: tuple[AcceptedOrder, ...]
    rejected: tuple[ImportRejection, ...]

    @property
    def orders(self) -> list[Order]:
        return [a.order for a in self.accepted]


def _load(bundle: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(bundle, Mapping):
        data: Any = dict(bundle)
    else:
        try:
            data = json.loads(bundle)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError("The pharmacy file is not valid JSON.") from exc
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ValidationError("The pharmacy file is not a FHIR Bundle.")
    if not isinstance(data.get("entry", []), list):
        raise ValidationError("The pharmacy bundle's entries are malformed.")
    return data


class _Context:
    def __init__(self, data: dict[str, Any], residents: Sequence[Resident]) -> None:
        self.by_url: dict[str, dict[str, Any]] = {}
        for entry in data.get("entry", []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                kind, ident = resource.get("resourceType"), resource.get("id")
                if isinstance(entry.get("fullUrl"), str):
                    self.by_url[entry["fullUrl"]] = resource
                if kind and ident:
                    self.by_url[f"{kind}/{ident}"] = resource
        self.by_id = {r.resident_id: r for r in residents}
        self.by_wristband = {r.wristband_id: r for r in residents}

    def resident(self, subject: dict[str, Any]) -> Resident:
        ref = subject.get("reference")
        candidates: list[str] = []
        if isinstance(ref, str):
            if ref.startswith("Patient/") and ref[8:] in self.by_id:
                return self.by_id[ref[8:]]
            patient = self.by_url.get(ref)
            if patient is not None:
                candidates += [i.get("value", "") for i in patient.get("identifier", [])]
        identifier = subject.get("identifier")
        if isinstance(identifier, dict):
            candidates.append(identifier.get("value", ""))
        for value in candidates:
            found = self.by_wristband.get(value) or self.by_id.get(value)
            if found is not None:
                return found
        raise Refused("the patient does not match any resident of this facility")


def _medication(resource: dict[str, Any], ctx: _Context) -> dict[str, Any]:
    """drug, strength, form, ndcs from the concept or the referenced Medication."""
    concept = resource.get("medicationCodeableConcept")
    strength = form = ""
    reference = resource.get("medicationReference")
    if concept is None and isinstance(reference, dict):
        ref = str(reference.get("reference", ""))
        contained = {f"#{c.get('id')}": c for c in resource.get("contained", [])}
        medication = contained.get(ref) or ctx.by_url.get(ref)
        if medication is None:
            raise Refused("the referenced Medication is not in the bundle")
        concept = medication.get("code") or {}
        form = str((medication.get("form") or {}).get("text", ""))
        for ingredient in medication.get("ingredient", []):
            numerator = (ingredient.get("strength") or {}).get("numerator") or {}
            if "value" in numerator:
                strength = f"{numerator['value']} {fc.unit_from_quantity(numerator)}".strip()
                break
    if not isinstance(concept, dict):
        raise Refused("no medication is named")
    codings = concept.get("coding", [])
    drug = concept.get("text") or next((c.get("display") for c in codings if c.get("display")), "")
    if not drug:
        raise Refused("the medication has no name")
    ndcs = tuple(str(c["code"]) for c in codings if c.get("system") == fc.NDC and c.get("code"))
    names = [str(drug), *(str(c["display"]) for c in codings if c.get("display"))]
    rxnorm = [str(c["code"]) for c in codings if c.get("system") == RXNORM and c.get("code")]
    return {"drug": str(drug), "strength": strength, "form": form, "ndcs": ndcs,
            "schedule": schedule_of(names, rxnorm)}


def _controlled(extension: str | None, standard: str | None) -> str | None:
    """The order's controlled schedule: the pharmacy's extension and the medication's standard
    schedule (:mod:`mar_desktop.clinical.controlled`) must agree when both are given."""
    if extension and standard and extension != standard:
        raise Refused(
            f"the bundle marks it Schedule {extension}, but the medication is Schedule "
            f"{standard} (DEA schedules, table {CONTROLLED_TABLE}); check the order with the "
            "pharmacy"
        )
    return extension or standard


def _schedule(dosage: dict[str, Any]) -> Schedule:
    timing = dosage.get("timing") or {}
    repeat = timing.get("repeat") or {}
    as_needed = bool(dosage.get("asNeededBoolean") or dosage.get("asNeededCodeableConcept"))
    period, unit = repeat.get("period"), repeat.get("periodUnit")
    minutes = (
        int(Decimal(str(period)) * _UNIT_MINUTES[unit])
        if period and unit in _UNIT_MINUTES
        else None
    )
    if as_needed:
        per_day = None
        maximum = dosage.get("maxDosePerPeriod") or {}
        if _amount_max(dosage) is not None:
            maximum = {}  # an amount, not a count: see _amount_max
        count = (maximum.get("numerator") or {}).get("value")
        span = (maximum.get("denominator") or {}).get("value")
        span_unit = (maximum.get("denominator") or {}).get("code") or (
            maximum.get("denominator") or {}
        ).get("unit")
        if count is not None and span is not None:
            hours = Decimal(str(span)) * (24 if span_unit == "d" else 1)
            if hours != 24:
                raise Refused("the maximum dose is not given per 24 hours")
            per_day = int(Decimal(str(count)))
        return Schedule(kind="prn", prn_min_interval_minutes=minutes, prn_max_doses_24h=per_day)
    times = repeat.get("timeOfDay") or []
    days = repeat.get("dayOfWeek")
    if times:
        day_numbers = tuple(_DAY_NAMES.index(d) for d in days) if days else None
        return Schedule(
            kind="fixed_times", times=tuple(str(t)[:5] for t in times), days_of_week=day_numbers
        )
    if repeat.get("frequency") == 1 and minutes and minutes % 60 == 0:
        return Schedule(kind="every_n_hours", every_hours=minutes // 60)
    raise Refused("the timing has no administration times (timeOfDay) or fixed hourly interval")


def _amount_max(dosage: dict[str, Any]) -> tuple[Decimal, str] | None:
    """``maxDosePerPeriod`` as a 24 h amount ("3 g" per 1 d) when its numerator is an amount
    of mass, volume or units; None for a count of doses (or none). Raises Refused for an
    amount per another period."""
    maximum = dosage.get("maxDosePerPeriod") or {}
    numerator = maximum.get("numerator") or {}
    unit = unit_of(fc.unit_from_quantity(numerator)) if numerator else None
    if unit is None or unit.dimension.startswith("count:") or numerator.get("value") is None:
        return None
    denominator = maximum.get("denominator") or {}
    span = Decimal(str(denominator.get("value", 1)))
    hours = span * (24 if (denominator.get("code") or denominator.get("unit")) == "d" else 1)
    if hours != 24:
        raise Refused("the maximum amount is not given per 24 hours")
    return Decimal(str(numerator["value"])), unit.name


def _dose_range(dosage: dict[str, Any]) -> dict[str, Any] | None:
    """The first ``doseRange`` of the dosage, if any."""
    return next(
        (d.get("doseRange") for d in dosage.get("doseAndRate", []) if d.get("doseRange")), None
    )


def _dose_fields(dosage: dict[str, Any]) -> dict[str, Any]:
    """dose, dose_unit and (for a ``doseRange``) dose_max, the 24 h amount maximum; refuses a
    sliding scale (no FHIR structure to read its table from)."""
    words = " ".join(str(t) for t in (dosage.get("text"), dosage.get("patientInstruction")) if t)
    if "sliding scale" in words.casefold():
        raise Refused("a sliding scale cannot be imported; enter the order and its scale by hand")
    fields: dict[str, Any] = {}
    amount_max = _amount_max(dosage)
    if amount_max is not None:
        fields.update(max_amount_24h=amount_max[0], max_amount_unit=amount_max[1])
    dose_range = _dose_range(dosage)
    if dose_range is not None:
        low, high = dose_range.get("low") or {}, dose_range.get("high") or {}
        if low.get("value") is None or high.get("value") is None:
            raise Refused("the dose range needs both a low and a high amount")
        unit = fc.unit_from_quantity(low)
        if unit != fc.unit_from_quantity(high):
            raise Refused("the dose range's low and high are in different units")
        return {
            **fields,
            "dose": Decimal(str(low["value"])),
            "dose_max": Decimal(str(high["value"])),
            "dose_unit": unit,
        }
    dose_qty = next(
        (d.get("doseQuantity") for d in dosage.get("doseAndRate", []) if d.get("doseQuantity")),
        None,
    )
    if not dose_qty or dose_qty.get("value") is None:
        raise Refused("the dose quantity is missing")
    return {
        **fields,
        "dose": Decimal(str(dose_qty["value"])),
        "dose_unit": fc.unit_from_quantity(dose_qty),
    }


def _order(resource: dict[str, Any], ctx: _Context, now: datetime, key: str) -> Order:
    if resource.get("status") != "active":
        raise Refused(f"status is {resource.get('status')!r}; only active requests become orders")
    if resource.get("intent") not in {"order", "original-order"}:
        raise Refused(f"intent is {resource.get('intent')!r}; only orders are imported")
    resident = ctx.resident(resource.get("subject") or {})
    medication = _medication(resource, ctx)
    dosages = resource.get("dosageInstruction") or []
    if not dosages:
        raise Refused("there is no dosage instruction")
    dosage = dosages[0]
    try:
        dose_fields = _dose_fields(dosage)
    except (InvalidOperation, ValueError) as exc:
        raise Refused(f"a dose value is malformed ({type(exc).__name__})") from None
    route = dosage.get("route") or {}
    route_text = route.get("text") or next(
        (c.get("display") for c in route.get("coding", []) if c.get("display")), ""
    )
    if not route_text:
        raise Refused("the route is missing")
    validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
    start_text = validity.get("start") or resource.get("authoredOn")
    extension = {e.get("url"): e.get("valueCode") for e in resource.get("extension", [])}
    instructions = " ".join(
        str(t) for t in (dosage.get("text"), dosage.get("patientInstruction")) if t
    )
    try:
        return Order(
            order_id=imported_order_id(key, resident.resident_id),
            resident_id=resident.resident_id,
            drug=medication["drug"][:200],
            strength=medication["strength"][:60],
            form=medication["form"][:60],
            ndcs=medication["ndcs"],
            **dose_fields,
            route=str(route_text)[:40],
            schedule=_schedule(dosage),
            start=parse_utc(start_text) if start_text else now,
            end=parse_utc(validity["end"]) if validity.get("end") else None,
            instructions=instructions[:2000],
            prescriber=str((resource.get("requester") or {}).get("display", ""))[:200],
            controlled_schedule=_controlled(
                extension.get(fc.CONTROLLED_SCHEDULE_EXT), medication["schedule"]
            ),
        )
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "order"
        raise Refused(f"{where}: {first.get('msg', 'invalid')}") from None
    except (InvalidOperation, ValueError) as exc:
        raise Refused(f"a value is malformed ({type(exc).__name__})") from None


def import_medication_requests(
    bundle: bytes | str | Mapping[str, Any], residents: Sequence[Resident], *, now: datetime
) -> ImportResult:
    """Maps each MedicationRequest of ``bundle`` to an :class:`Order` (its id derived from the
    request's source key) or a rejection. Raises ValidationError only when the file is not a
    FHIR Bundle at all."""
    data = _load(bundle)
    ctx = _Context(data, residents)
    meta = data.get("meta")
    source = str(meta.get("source") or "") if isinstance(meta, dict) else ""
    accepted: list[AcceptedOrder] = []
    rejected: list[ImportRejection] = []
    for index, entry in enumerate(data.get("entry", [])):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            rejected.append(ImportRejection(index, None, "the entry has no resource"))
            continue
        kind, ident = resource.get("resourceType"), resource.get("id")
        ident = str(ident) if ident is not None else None
        if kind in SUPPORTING:
            continue
        if kind != "MedicationRequest":
            rejected.append(ImportRejection(index, ident, f"{kind} is not a MedicationRequest"))
            continue
        try:
            MedicationRequest.model_validate(resource)
        except (PydanticValidationError, ValueError) as exc:
            rejected.append(ImportRejection(index, ident, f"not valid FHIR: {_first_error(exc)}"))
            continue
        try:
            key = _source_key(resource, source)
            order = _order(resource, ctx, now, key)
            accepted.append(
                AcceptedOrder(index, ident, order, key, pharmacy_values(resource, ctx))
            )
        except Refused as why:
            rejected.append(ImportRejection(index, ident, str(why)))
    return ImportResult(tuple(accepted), tuple(rejected))


def _first_error(exc: Exception) -> str:
    if isinstance(exc, PydanticValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'invalid')}"
    return str(exc).splitlines()[0][:200]


def pharmacy_values(resource: dict[str, Any], ctx: _Context | None = None) -> tuple[
    tuple[str, str], ...
]:
    """The request's own values, field by field as the verification screen shows them
    (:func:`mar_desktop.clinical.verification.order_values` names): read from the FHIR
    resource itself, not from the order made of it, so a mapping or transcription error shows
    as a difference. Never raises: a value it cannot read is shown empty."""
    try:
        return tuple(_pharmacy_values(resource, ctx or _Context({}, ())).items())
    except (AttributeError, KeyError, TypeError, ValueError, IndexError, Refused):
        return ()


def _pharmacy_values(resource: dict[str, Any], ctx: _Context) -> dict[str, str]:
    dosage = (resource.get("dosageInstruction") or [{}])[0]
    medication = _medication(resource, ctx)
    quantity: dict[str, Any] = next(
        (d.get("doseQuantity") for d in dosage.get("doseAndRate", []) if d.get("doseQuantity")),
        {},
    )
    route = dosage.get("route") or {}
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    if dosage.get("asNeededBoolean") or dosage.get("asNeededCodeableConcept"):
        timing = "PRN"
        if repeat.get("period"):
            timing += f", every {repeat.get('period')} {repeat.get('periodUnit', '')}".rstrip()
        maximum = (dosage.get("maxDosePerPeriod") or {}).get("numerator") or {}
        if maximum.get("value") is not None:
            most = f"{maximum['value']} {maximum.get('unit') or maximum.get('code') or ''}"
            timing += f", at most {most.strip()} per period"
    elif repeat.get("timeOfDay"):
        timing = "at " + ", ".join(str(t)[:5] for t in repeat["timeOfDay"])
        if repeat.get("dayOfWeek"):
            timing += " on " + ",".join(str(d) for d in repeat["dayOfWeek"])
    else:
        timing = (
            f"{repeat.get('frequency', '')} per {repeat.get('period', '')} "
            f"{repeat.get('periodUnit', '')}".strip()
        )
    validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
    extension = {e.get("url"): e.get("valueCode") for e in resource.get("extension", [])}
    unit = quantity.get("unit") or quantity.get("code") or ""
    dose_range = _dose_range(dosage)
    if dose_range is not None:
        low, high = dose_range.get("low") or {}, dose_range.get("high") or {}
        unit = high.get("unit") or high.get("code") or ""
        quantity = {"value": f"{low.get('value', '')}–{high.get('value', '')}"}
    return {
        "drug": str(medication["drug"]),
        "strength": str(medication["strength"]),
        "form": str(medication["form"]),
        "dose": f"{quantity.get('value', '')} {unit}".strip(),
        "route": str(
            route.get("text")
            or next((c.get("display") for c in route.get("coding", []) if c.get("display")), "")
        ),
        "frequency": timing,
        "hold_parameters": "",
        "start": str(validity.get("start") or resource.get("authoredOn") or ""),
        "end": str(validity.get("end") or ""),
        "instructions": " ".join(
            str(t) for t in (dosage.get("text"), dosage.get("patientInstruction")) if t
        ),
        "prescriber": str((resource.get("requester") or {}).get("display", "")),
        "controlled_schedule": str(extension.get(fc.CONTROLLED_SCHEDULE_EXT) or ""),
    }
