"""Who saw this resident, across two tablets and the server (SQLite and PostgreSQL), over real
TLS 1.3: the resident's views, print, dose and export on two tablets, with the sign-ins of the
people involved and the devices' server sign-ins (with the address the server saw), are listed
exactly by ``mar-server access-report`` and nothing of another resident's accesses; each tablet's
screen service lists what that tablet holds; ``check-export`` verifies both exports and catches
a changed byte."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
import trustme

from mar_desktop import audit
from mar_desktop.clock import FakeClock
from mar_desktop.permissions import Principal
from mar_desktop.reports.exporting import ExportService
from mar_desktop.reports.gather import ReportService
from mar_desktop.services.access_report import AccessReportService
from mar_desktop.services.mar import MarService
from storage.access_queries import AccessQueries
from storage.report_queries import ReportQueries
from sync.server.cli import main as server_main
from tests.facility import NOW
from tests.sync.conftest import Site, start_site, stop_site
from tests.sync.world import Cart, next_slot, plain_orders, seed
from ui.cli.main import main as desktop_main

START = NOW + timedelta(hours=12)


def _sign(c: Cart, who: Principal, action: str) -> None:
    """A session event as the session manager audits it (sign-in, sign-out)."""
    c.ports.ledger.append(
        [audit.audit_draft(action, actor=who.actor, user_name=who.user.full_name)]
    )


def _read(folder: Path) -> list[dict[str, str]]:
    with (folder / "access-report.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _tablet_rows(rows: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(r["action"], r["user_id"], r["device"]) for r in rows if r["source"] != "server audit"}


def _seed_accesses(site: Site, clock: FakeClock) -> tuple[Cart, Cart, str, str]:
    """Tablet A: the nurse views resident 1 and gives a dose, the admin prints their monthly
    MAR; tablet B: the second nurse views them and the surveyor exports the window. Both nurses
    also view resident 2, and the CNA signs in on B without touching resident 1."""
    a = Cart(site.tablet("cart-a", clock=clock), clock)
    seeded = seed(a)
    b = Cart(site.tablet("cart-b", clock=clock), clock)
    b.tab.engine.sync_once()
    pairs = plain_orders(seeded)
    r1, o1 = pairs[0]
    r2 = next(r for r, _o in pairs if r.resident_id != r1.resident_id)
    clock.set(START)
    slot = next_slot(a, o1)
    clock.set(slot + timedelta(minutes=2))  # type: ignore[operator]

    nurse, admin = a.principal(seeded, "nurse"), a.principal(seeded, "admin")
    _sign(a, nurse, audit.LOGIN)
    MarService(a.ports).resident_mar(nurse, r1.resident_id)
    a.give(seeded, o1, r1, slot)
    MarService(a.ports).resident_mar(nurse, r2.resident_id)
    _sign(a, nurse, audit.LOGOUT)
    _sign(a, admin, audit.LOGIN)
    month = clock.now()
    ReportService(a.ports).monthly_mar(admin, year=month.year, month=month.month,
                                       resident_id=r1.resident_id)
    a.tab.engine.sync_once()

    b.tab.engine.sync_once()
    nurse2, surveyor = b.principal(seeded, "nurse2"), b.principal(seeded, "surveyor")
    _sign(b, b.principal(seeded, "cna"), audit.LOGIN)
    _sign(b, nurse2, audit.LOGIN)
    MarService(b.ports).resident_mar(nurse2, r1.resident_id)
    MarService(b.ports).resident_mar(nurse2, r2.resident_id)
    _sign(b, surveyor, audit.LOGIN)
    exports = ExportService(ReportService(b.ports),
                            lambda: ReportQueries(b.tab.store.connect_reader(), verify_workers=1))
    exports.surveyor_export(surveyor, site.tmp / "surveyor", since=START,
                            until=clock.now() + timedelta(minutes=1))
    b.tab.engine.sync_once()
    a.tab.engine.sync_once()
    return a, b, r1.resident_id, r2.resident_id


def _cli(site: Site, resident_id: str, until: str, out: Path, fmt: str = "csv") -> int:
    return server_main([
        "--data", str(site.data), "--db", site.db_url, "access-report",
        "--facility", site.facility_id, "--resident", resident_id,
        "--from", START.strftime("%Y-%m-%dT%H:%M:%SZ"), "--to", until,
        "--format", fmt, "--out", str(out),
    ])


def test_the_server_report_lists_exactly_the_residents_accesses_from_both_tablets(
    store_url: str, tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    clock = FakeClock(NOW)
    site = start_site(tmp_path, store_url, cert_files, ca, clock=clock)
    try:
        a, b, r1, r2 = _seed_accesses(site, clock)
        until = (clock.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = tmp_path / "report"
        assert _cli(site, r1, until, out) == 0
        rows = _read(out)
        assert _tablet_rows(rows) == {
            ("sign-in", "demo-nurse", "cart-a"),
            ("view", "demo-nurse", "cart-a"),
            ("dose", "demo-nurse", "cart-a"),
            ("sign-out", "demo-nurse", "cart-a"),
            ("sign-in", "demo-admin", "cart-a"),
            ("print", "demo-admin", "cart-a"),
            ("sign-in", "demo-nurse2", "cart-b"),
            ("view", "demo-nurse2", "cart-b"),
            ("sign-in", "demo-surveyor", "cart-b"),
            ("export", "demo-surveyor", "cart-b"),
        }
        assert len([r for r in rows if r["source"] != "server audit"]) == 10  # nothing twice
        server = [r for r in rows if r["source"] == "server audit"]
        assert {r["device"] for r in server} == {"cart-a", "cart-b"}
        assert {(r["action"], r["ip"]) for r in server} == {("sign-in", "127.0.0.1")}
        names = {r["user_id"]: r["person"] for r in rows if r["user_id"]}
        assert names["demo-nurse"] == "Marisol Ortega"
        assert all(r2 not in value for r in rows for value in r.values())
        times = [r["time_utc"] for r in rows]
        assert times == sorted(times)

        # The other resident's report: their own views, never the first one's accesses; the
        # export held no entry of theirs (only resident 1's dose), so it is not theirs either.
        other = tmp_path / "other"
        assert _cli(site, r2, until, other) == 0
        rows2 = _read(other)
        assert {("view", "demo-nurse", "cart-a"), ("view", "demo-nurse2", "cart-b")} \
            <= _tablet_rows(rows2)
        assert {r[0] for r in _tablet_rows(rows2)} == {"view", "sign-in", "sign-out"}
        assert all(r1 not in value for r in rows2 for value in r.values())

        # Signed by the server key: check-export verifies it, and a changed byte is caught.
        key = site.core.public_key
        assert desktop_main(["check-export", str(out), "--trusted-key", key]) == 0
        pdf = tmp_path / "report-pdf"
        assert _cli(site, r1, until, pdf, "pdf") == 0
        assert desktop_main(["check-export", str(pdf), "--trusted-key", key]) == 0
        data = bytearray((pdf / "access-report.pdf").read_bytes())
        data[len(data) // 2] ^= 0x01
        (pdf / "access-report.pdf").write_bytes(bytes(data))
        assert desktop_main(["check-export", str(pdf), "--trusted-key", key]) == 5

        # The run is in the server audit: the next report on the resident lists it.
        again = tmp_path / "again"
        later = (clock.now() + timedelta(days=3650)).strftime("%Y-%m-%d")
        assert _cli(site, r1, later, again) == 0
        assert any(r["action"] == "export" and r["source"] == "server audit"
                   for r in _read(again))

        # Each tablet's screen lists what it holds: its own audit, every tablet's ledger.
        end = clock.now() + timedelta(hours=1)
        for c, expected in (
            (a, {("sign-in", "demo-nurse", "cart-a"), ("view", "demo-nurse", "cart-a"),
                 ("dose", "demo-nurse", "cart-a"), ("sign-out", "demo-nurse", "cart-a"),
                 ("sign-in", "demo-admin", "cart-a"), ("print", "demo-admin", "cart-a")}),
            (b, {("dose", "demo-nurse", "cart-a"), ("sign-in", "demo-nurse2", "cart-b"),
                 ("view", "demo-nurse2", "cart-b"), ("sign-in", "demo-surveyor", "cart-b"),
                 ("export", "demo-surveyor", "cart-b")}),
        ):
            service = AccessReportService(
                c.ports, lambda c=c: AccessQueries(c.tab.store.connect_reader()))  # type: ignore[misc]
            admin = Principal(user=next(u for u in c.tab.store.reader().users()
                                        if u.user_id == "demo-admin"), device_id="x")
            report = service.report(admin, r1, START, end)
            assert {(r.action, r.user_id, r.device) for r in report.rows} == expected
        folder = tmp_path / "tablet-export"
        # The report just shown was itself audited as a view of the resident: now listed.
        assert service.export(admin, r1, START, end, "csv", folder) == len(report.rows) + 1
        assert ("view", "demo-admin", "cart-b") in _tablet_rows(_read(folder))
        assert desktop_main(["check-export", str(folder), "--trusted-key",
                             b.tab.store.ledger.public_key_hex]) == 0
        (folder / "access-report.csv").write_text("tampered\n", encoding="utf-8")
        assert desktop_main(["check-export", str(folder)]) == 5
    finally:
        stop_site(site)


def test_the_cli_refuses_an_unknown_resident_and_a_reversed_window(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, capsys: pytest.CaptureFixture[str]
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        assert _cli(site, "no-such-resident", "2030-01-01", tmp_path / "x") != 0
        assert "no resident" in capsys.readouterr().err
        assert not (tmp_path / "x").exists()
        assert _cli(site, "r", START.strftime("%Y-%m-%d"), tmp_path / "y") == 2
    finally:
        stop_site(site)


def test_the_server_action_names_are_the_servers() -> None:
    from mar_desktop import access_report
    from sync.server import audit as server_audit

    assert access_report.SERVER_SIGNED_IN == server_audit.SIGNED_IN
    assert access_report.SERVER_SIGN_IN_REFUSED == server_audit.SIGN_IN_REFUSED
    assert access_report.SERVER_ACCESS_REPORT == server_audit.ACCESS_REPORT
