"""The demo scanner panel's data: a resident's wristband and running orders' package codes, or
the wristbands of the user's units; the unit scope is checked like any MAR read."""

from __future__ import annotations

import pytest

from mar_desktop.clinical.barcodes import parse_scan
from mar_desktop.errors import PermissionDenied
from mar_desktop.services.base import Ports
from mar_desktop.services.demo_scans import DemoScanService
from tests.facility import World


def service(world: World) -> DemoScanService:
    return DemoScanService(Ports(world.store.ledger, world.store.reader, world.clock))


def test_a_residents_wristband_then_each_running_order_as_a_scanner_sends_it(world: World):
    resident, order = world.resident_with("")
    found = service(world).barcodes(world.principal("nurse"), resident.resident_id)
    assert found[0].kind == "wristband" and found[0].code == resident.wristband_id
    medications = [b for b in found if b.kind == "medication"]
    assert medications and all(b.code.startswith("01") for b in medications)
    gtins = {parse_scan(b.code).gtin for b in medications}
    assert order.gtins[0] in gtins


def test_the_overview_lists_only_the_users_units(world: World):
    cna = world.principal("cna")
    listed = service(world).barcodes(cna, None)
    worn = {r.wristband_id: r.unit_id for r in world.store.reader().residents()}
    assert listed and {worn[b.code] for b in listed} == set(cna.user.unit_ids)


def test_a_resident_outside_the_units_is_refused(world: World):
    cna = world.principal("cna")
    outside = next(r for r in world.store.reader().residents()
                   if r.unit_id not in cna.user.unit_ids)
    with pytest.raises(PermissionDenied):
        service(world).barcodes(cna, outside.resident_id)
