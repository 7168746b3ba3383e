"""The tablet's access report service: only ``view_audit`` may read it (a refusal is audited
and reads nothing), an export also needs ``export_facility``, an unknown resident is NotFound,
and the report is itself audited as a view of the resident."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mar_desktop.errors import NotFound, PermissionDenied
from mar_desktop.services.access_report import AccessReportService
from storage.access_queries import AccessQueries
from tests.facility import NOW, World


def _service(world: World) -> AccessReportService:
    return AccessReportService(world.ports, lambda: AccessQueries(world.store.connect_reader()))


def _audit_actions(world: World) -> list[str]:
    conn = world.store.connect_reader()
    try:
        rows = conn.execute("SELECT kind FROM audit ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [str(r[0]) for r in rows]


def test_only_view_audit_reads_it_and_reading_it_is_audited(world: World, tmp_path: Path) -> None:
    service = _service(world)
    resident = world.seeded.demo.residents[0].resident_id
    since, until = NOW - timedelta(days=1), NOW + timedelta(days=1)
    with pytest.raises(PermissionDenied):
        service.report(world.principal("nurse"), resident, since, until)
    assert _audit_actions(world)[-1] == "audit.permission_refused"
    with pytest.raises(NotFound):
        service.report(world.principal("admin"), "no-such-resident", since, until)
    report = service.report(world.principal("admin"), resident, since, until)
    assert report.count("change") >= 1  # the admission and orders of the seed
    assert _audit_actions(world)[-1] == "audit.audit_viewed"
    again = service.report(world.principal("surveyor"), resident, since, until)
    assert ("view", "demo-admin") in {(r.action, r.user_id) for r in again.rows}
    with pytest.raises(PermissionDenied):
        service.export(world.principal("nurse"), resident, since, until, "csv", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_an_audit_log_search_filtered_to_the_resident_is_listed(world: World) -> None:
    from mar_desktop.people.audit_query import AuditFilter, AuditQueryService
    from storage.credentials import SqlAuditLog

    residents = world.seeded.demo.residents
    mine, other = residents[0].resident_id, residents[1].resident_id
    log = SqlAuditLog(world.store.connect_reader)
    try:
        searches = AuditQueryService(world.ports, log)
        searches.search(world.principal("surveyor"), AuditFilter(entity_id=mine))
        searches.search(world.principal("admin"), AuditFilter(entity_id=other))
        searches.search(world.principal("admin"), AuditFilter(user_id="demo-nurse"))
    finally:
        log.close()
    since, until = NOW - timedelta(days=1), NOW + timedelta(days=1)
    report = _service(world).report(world.principal("admin"), mine, since, until)
    views = [(r.user_id, r.what) for r in report.rows if r.action == "view"]
    assert len(views) == 1 and views[0][0] == "demo-surveyor"
    assert views[0][1].startswith("Searched the audit log for this resident")


class _StillFetching:
    """The read model of a tablet whose history before ``held_from`` is still being fetched."""

    def __init__(self, read: object, held_from: object) -> None:
        self._read, self._held_from = read, held_from

    def __getattr__(self, name: str) -> object:
        return getattr(self._read, name)

    def history_complete_from(self) -> object:
        return self._held_from


def test_a_window_this_tablet_does_not_hold_yet_is_refused(world: World) -> None:
    from mar_desktop.errors import HistoryNotHeld
    from mar_desktop.services.base import Ports

    ports = Ports(world.store.ledger, lambda: _StillFetching(world.store.reader(), NOW),
                  world.clock)  # type: ignore[arg-type]
    service = AccessReportService(ports, lambda: AccessQueries(world.store.connect_reader()))
    resident = world.seeded.demo.residents[0].resident_id
    with pytest.raises(HistoryNotHeld):
        service.report(world.principal("admin"), resident, NOW - timedelta(hours=1),
                       NOW + timedelta(hours=1))
    assert service.report(world.principal("admin"), resident, NOW, NOW + timedelta(hours=1))
