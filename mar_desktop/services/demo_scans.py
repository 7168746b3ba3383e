"""The demo's scanner panel data: what a newcomer can "scan" in ``--demo``, the current
resident's wristband and the package barcode of each of their running orders (GS1 element
strings, as a keyboard-wedge scanner types them), or, with no resident open, the wristbands of
the residents the user may see.

Only the demo builds this service (the composition root, for ``--demo``); it is never part of
a real tablet's backend. Worker thread. Checks ``view_mar`` and the unit scope (a refusal is
audited); reads nothing a resident's MAR does not already show, so it is not audited again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mar_desktop.permissions import Permission, Principal
from mar_desktop.services.base import Service
from mar_desktop.views import OrderStatus

DEMO_EXPIRY = "281231"  # YYMMDD: a package good until the end of 2028
DEMO_LOT = "DEMO24"
MAX_WRISTBANDS = 6


@dataclass(frozen=True, slots=True)
class DemoBarcode:
    """One thing to scan: what it is, in words, and the characters the scanner sends."""

    kind: Literal["wristband", "medication"]
    label: str
    code: str


def package_code(gtin: str, expiry: str = DEMO_EXPIRY, lot: str = DEMO_LOT) -> str:
    """A GS1 DataMatrix's element string: GTIN (01), expiry (17), lot (10)."""
    return f"01{gtin}17{expiry}10{lot}"


class DemoScanService(Service):
    """See the module docstring."""

    def barcodes(self, principal: Principal, resident_id: str | None) -> list[DemoBarcode]:
        """``resident_id``'s wristband and running orders' packages; with None, the first
        wristbands of the user's units. Raises PermissionDenied, NotFound."""
        if resident_id is None:
            self._require(principal, Permission.VIEW_MAR, entity_type="unit")
            residents = self._read.residents(principal.unit_scope(self._clock.now()))
            return [DemoBarcode("wristband", f"{r.display_name} ({r.room})", r.wristband_id)
                    for r in residents[:MAX_WRISTBANDS]]
        resident = self._resident_in_scope(principal, resident_id, Permission.VIEW_MAR)
        found = [DemoBarcode("wristband", f"{resident.display_name} ({resident.room})",
                             resident.wristband_id)]
        for state in self._read.orders([resident_id]):
            order = state.order
            if state.status is OrderStatus.DISCONTINUED or not order.gtins:
                continue
            what = " ".join(x for x in (order.drug, order.strength, order.form) if x)
            found.append(DemoBarcode("medication", what, package_code(order.gtins[0])))
        return found
