"""What every service shares: its ports, the clock, and permission checks that audit refusals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mar_desktop import audit
from mar_desktop.clock import Clock
from mar_desktop.envelope import Entry, EntryDraft
from mar_desktop.errors import NotFound, PermissionDenied, ValidationError
from mar_desktop.model import Facility, Resident
from mar_desktop.permissions import Permission, Principal, require
from mar_desktop.ports import LedgerWriter, ReadModel


@dataclass(frozen=True)
class Ports:
    """The storage ports and clock a service works with.

    ``reader`` returns a ReadModel bound to the calling thread's connection.
    """

    ledger: LedgerWriter
    reader: Callable[[], ReadModel]
    clock: Clock


class Service:
    """Base class: permission checks (refusals audited, nothing else written) and appends."""

    def __init__(self, ports: Ports) -> None:
        self._ports = ports
        self._ledger = ports.ledger
        self._clock = ports.clock

    @property
    def _read(self) -> ReadModel:
        return self._ports.reader()

    def _facility(self) -> Facility:
        facility = self._read.facility()
        if facility is None:
            raise NotFound("This device has no facility configured yet.")
        return facility

    def _require(
        self,
        principal: Principal,
        permission: Permission,
        *,
        unit_id: str | None = None,
        entity_type: str = "",
        entity_id: str = "",
    ) -> None:
        """Raises PermissionDenied after appending a ``permission_refused`` audit entry."""
        try:
            require(principal, permission, unit_id=unit_id, now=self._clock.now())
        except PermissionDenied as refused:
            self._ledger.append(
                [
                    audit.audit_for(
                        principal,
                        audit.PERMISSION_REFUSED,
                        entity_type=entity_type,
                        entity_id=entity_id,
                        detail=f"{permission.value}: {refused}",
                    )
                ]
            )
            raise

    def _resident_in_scope(
        self, principal: Principal, resident_id: str, permission: Permission
    ) -> Resident:
        """The resident, after checking ``permission`` for the resident's unit."""
        resident = self._read.resident(resident_id)
        if resident is None:
            raise NotFound("No such resident.")
        self._require(
            principal,
            permission,
            unit_id=resident.unit_id,
            entity_type="resident",
            entity_id=resident_id,
        )
        return resident

    def _append(self, drafts: Sequence[EntryDraft]) -> list[Entry]:
        return self._ledger.append(drafts)

    def _decide_for_resident(
        self,
        principal: Principal,
        permission: Permission,
        resident_id: str,
        build: Callable[[ReadModel, Resident], list[EntryDraft]],
    ) -> list[Entry]:
        """Checks ``permission`` for the resident's unit and runs ``build`` in ONE write
        transaction (:meth:`LedgerWriter.append_decided`): what ``build`` reads cannot change
        before its drafts are stored. A refusal stores only its ``permission_refused`` audit
        entry and raises PermissionDenied; anything ``build`` raises stores nothing."""
        refused: list[PermissionDenied] = []

        def decide(read: ReadModel) -> list[EntryDraft]:
            resident = read.resident(resident_id)
            if resident is None:
                raise NotFound("No such resident.")
            try:
                require(principal, permission, unit_id=resident.unit_id, now=self._clock.now())
            except PermissionDenied as denied:
                refused.append(denied)
                return [
                    audit.audit_for(
                        principal,
                        audit.PERMISSION_REFUSED,
                        entity_type="resident",
                        entity_id=resident_id,
                        detail=f"{permission.value}: {denied}",
                    )
                ]
            return build(read, resident)

        entries = self._ledger.append_decided(decide)
        if refused:
            raise refused[0]
        return entries


def nonblank(text: str, what: str) -> str:
    """Strips ``text``; raises ValidationError naming ``what`` if nothing is left."""
    stripped = text.strip()
    if not stripped:
        raise ValidationError(f"{what} is required.")
    return stripped
