"""Audit search without the sync rows, and the export of a filtered view: an owner-only CSV
with the changes in words, refused without ``export_facility``, and itself audited."""

from __future__ import annotations

import csv
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mar_desktop import audit
from mar_desktop.clock import FakeClock
from mar_desktop.envelope import SYSTEM_ACTOR
from mar_desktop.errors import PermissionDenied
from mar_desktop.model import Facility, Role, User
from mar_desktop.people.audit_export import safe_cell
from mar_desktop.people.audit_query import AuditFilter, AuditQueryService
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.reference import ReferenceService
from storage.credentials import SqlAuditLog
from storage.local_store import LocalStore

ADMIN = User(user_id="u-admin", username="admin", full_name="Dana Whitfield", initials="DW",
             role=Role.FACILITY_ADMIN)
NURSE = User(user_id="u-nurse", username="nurse", full_name="Marisol Ortega", initials="MO",
             role=Role.NURSE, unit_ids=("*",))


@pytest.fixture
def service(store: LocalStore, fake_clock: FakeClock) -> Iterator[AuditQueryService]:
    ports = Ports(store.ledger, store.reader, fake_clock)
    reference = ReferenceService(ports)
    reference.configure_facility(
        Facility(facility_id=store.facility_id, name="Maple Court", timezone="America/Chicago"))
    reference.bootstrap_admin(ADMIN)
    store.ledger.append([
        audit.audit_draft(audit.SYNCED, actor=SYSTEM_ACTOR, user_name="system",
                          detail="pushed 3"),
        audit.audit_draft(audit.USER_CHANGED, actor=SYSTEM_ACTOR, user_name="system",
                          entity_type="user", entity_id="u-nurse",
                          before={"role": "nurse", "active": True},
                          after={"role": "cna", "active": True}, detail="=HYPERLINK(\"x\")"),
    ])
    log = SqlAuditLog(store.connect_reader)
    try:
        yield AuditQueryService(ports, log)
    finally:
        log.close()


def admin(store: LocalStore) -> Principal:
    return Principal(user=ADMIN, device_id=store.device_id)


def test_sync_rows_can_be_left_out(service: AuditQueryService, store: LocalStore) -> None:
    everything = [r.action for r in service.search(admin(store), AuditFilter())]
    assert audit.SYNCED in everything
    without = service.search(admin(store), AuditFilter(exclude_actions=frozenset({"synced"})))
    shown = [r.action for r in without if r.action != audit.AUDIT_VIEWED]
    assert shown == [a for a in everything if a not in (audit.SYNCED, audit.AUDIT_VIEWED)]


def test_export_writes_the_filtered_view_owner_only_and_is_audited(
    service: AuditQueryService, store: LocalStore, tmp_path: Path
) -> None:
    out = tmp_path / "audit.csv"
    query = AuditFilter(entity_id="u-nurse", limit=1)
    assert service.export_csv(admin(store), query, out, "America/Chicago") == 1
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert len(rows) == 1
    assert rows[0]["action"] == "user_changed"
    assert rows[0]["changes"] == "Role: nurse → cna"
    assert rows[0]["detail"].startswith("'=HYPERLINK")  # not run as a formula
    exported = service.search(admin(store), AuditFilter(actions=frozenset({"exported"})))
    assert len(exported) == 1
    assert "audit.csv" in exported[0].detail and "rows=1" in exported[0].detail
    assert "entity=u-nurse" in exported[0].detail


def test_an_export_needs_the_export_permission(
    service: AuditQueryService, store: LocalStore, tmp_path: Path
) -> None:
    nurse = Principal(user=NURSE, device_id=store.device_id)
    out = tmp_path / "audit.csv"
    with pytest.raises(PermissionDenied):
        service.export_csv(nurse, AuditFilter(), out)
    assert not out.exists()
    refused = service.search(admin(store), AuditFilter(actions=frozenset({"permission_refused"})))
    assert [r.user_id for r in refused] == ["u-nurse"]


def test_a_failed_write_leaves_no_file_and_no_export_event(
    service: AuditQueryService, store: LocalStore, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mar_desktop.people.audit_export as export

    def broken(*_args: object) -> int:
        (tmp_path / "audit.csv").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(export, "write_audit_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        service.export_csv(admin(store), AuditFilter(), tmp_path / "audit.csv")
    assert not (tmp_path / "audit.csv").exists()
    assert not service.search(admin(store), AuditFilter(actions=frozenset({"exported"})))


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx"])
def test_formula_cells_are_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert safe_cell("plain 1-2") == "plain 1-2"
