"""Recording a pharmacy's imported orders so that importing the same bundle twice never doubles
an order (a double-dosing risk).

For each order :func:`mar_desktop.reports.fhir_import.import_medication_requests` accepted (its
id derived from the request's source key), the order now in force for that request is found by
following ``replaced_by`` from that id:

- none: the order is created;
- the same order (every field but the id and the start): nothing is written;
- a different one (a changed dose, route, schedule, ...): an ``order.changed`` entry replaces it
  from now with the new version (a fresh id derived from the key), so the history shows the
  change;
- one discontinued here (not replaced): refused, so an import never brings back an order a
  nurse or admin stopped.

Every refusal names the bundle entry. Each order goes through
:class:`~mar_desktop.services.reference.ReferenceService` on its own (permission, audit), so one
bad order never blocks the others. Worker thread; raises nothing for one order's failure (it is
reported), PermissionDenied only through the reference service's own checks per order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from mar_desktop import kinds
from mar_desktop.errors import MarError
from mar_desktop.model import Order
from mar_desktop.permissions import Principal
from mar_desktop.reports.fhir_import import AcceptedOrder, ImportResult, imported_order_id
from mar_desktop.services.base import Ports, Service
from mar_desktop.services.reference import ReferenceService
from mar_desktop.views import OrderState, VerificationStatus

CHANGE_REASON = "Changed by the pharmacy (imported order)"


@dataclass(slots=True)
class ImportOutcome:
    """What an import did, by bundle entry index."""

    created: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


class OrderImportService(Service):
    def __init__(self, ports: Ports) -> None:
        super().__init__(ports)
        self._reference = ReferenceService(ports)

    def record(
        self,
        principal: Principal,
        result: ImportResult,
        *,
        allergies_acknowledged: Collection[int] = (),
    ) -> ImportOutcome:
        """Creates, changes or skips each accepted order (see the module doc); the bundle's
        own rejections are reported as refused. An order that matches one of its resident's
        allergies is refused (``allergy_unacknowledged``) unless its bundle entry index is in
        ``allergies_acknowledged``; the acknowledgement goes into the order's audit entry."""
        outcome = ImportOutcome(refused=[(r.index, r.reason) for r in result.rejected])
        for accepted in result.accepted:
            try:
                self._one(
                    principal, accepted, outcome, accepted.index in allergies_acknowledged
                )
            except MarError as error:
                outcome.refused.append((accepted.index, str(error)))
        outcome.refused.sort()
        return outcome

    def _one(
        self, principal: Principal, accepted: AcceptedOrder, outcome: ImportOutcome, ack: bool
    ) -> None:
        order = accepted.order
        current = self._in_force(order.order_id)
        source = _provenance(accepted)
        if current is None:
            self._reference.create_order(
                principal, order, allergy_acknowledged=ack, provenance=source
            )
            outcome.created.append(accepted.index)
        elif current.discontinued_at is not None:  # stopped here, not replaced
            outcome.refused.append(
                (accepted.index, "this order was discontinued here; an import does not restart it")
            )
        elif _same(current.order, order):
            if current.verification == VerificationStatus.RETURNED:
                outcome.refused.append(
                    (
                        accepted.index,
                        "this version was returned at verification"
                        + (f" ({current.returned_reason})" if current.returned_reason else "")
                        + "; the pharmacy must correct it",
                    )
                )
            else:
                outcome.unchanged.append(accepted.index)
        else:  # the changed version starts now: no past doses of it fall due
            start = max(order.start, self._clock.now())
            new = order.model_copy(update={"order_id": self._fresh_id(accepted), "start": start})
            self._reference.change_order(
                principal,
                current.order_id,
                new,
                CHANGE_REASON,
                start,
                allergy_acknowledged=ack,
                provenance=source,
            )
            outcome.changed.append(accepted.index)

    def _in_force(self, first_id: str) -> OrderState | None:
        """The order the request's first import started, followed through its replacements
        and its change awaiting verification (the newest version)."""
        state = self._read.order(first_id)
        seen = {first_id}
        while state is not None:
            following = state.replaced_by or state.pending_change
            if following is None or following in seen:
                break
            seen.add(following)
            state = self._read.order(following)
        return state

    def _fresh_id(self, accepted: AcceptedOrder) -> str:
        resident = accepted.order.resident_id
        for version in range(2, 10_000):
            candidate = imported_order_id(accepted.source_key, resident, variant=f"v{version}")
            if self._read.order(candidate) is None:
                return candidate
        raise MarError("This order was changed too many times to import again.")


def _same(held: Order, imported: Order) -> bool:
    """Every field but the id and the start (a request without a start date starts when it is
    imported, which must not read as a change)."""
    ignored = {"order_id", "start"}
    return held.model_dump(exclude=ignored) == imported.model_dump(exclude=ignored)


def _provenance(accepted: AcceptedOrder) -> kinds.OrderProvenance:
    return kinds.OrderProvenance(
        verification="required",
        source="import",
        source_values=tuple(
            kinds.SourceValue(field=f, value=v[:2000]) for f, v in accepted.source_values
        ),
        source_ref=accepted.source_key[:300],
    )
