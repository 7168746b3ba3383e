"""Clock truth: at every sync the tablet sends its clock and the server answers with its own.
A tablet more than the facility's limit off, behind as well as ahead, is alerted by the server
(once per device), warns on its status bar until the clock is right, and records when it was
off and when it was right again in its audit chain; a steady sync writes nothing. An older
tablet that sends no clock is not judged. Real server, real TLS."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trustme

from mar_desktop import audit
from mar_desktop.clock import FakeClock, ServerCorrectedClock, parse_utc
from mar_desktop.envelope import SYSTEM_ACTOR
from mar_desktop.sync_status import clock_warning
from sync.server.app import alert_infos
from tests.facility import NOW
from tests.mar_desktop.people.test_offline import TabletClock
from tests.sync.conftest import Site, start_site, stop_site


def _audit_actions(site: Site, name: str) -> list[str]:
    tab = next(t for t in site.tablets if t.data_dir.name == name)
    conn = tab.store.connect_reader()
    try:
        return [row[0].removeprefix("audit.") for row in
                conn.execute("SELECT kind FROM audit ORDER BY seq")]
    finally:
        conn.close()


@pytest.mark.parametrize("off", [timedelta(hours=-2), timedelta(minutes=7)],
                         ids=["behind", "ahead"])
def test_a_tablet_clock_off_either_way_is_alerted_warned_and_recorded_once(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, off: timedelta
) -> None:
    server_clock = FakeClock(NOW)
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca,
                      clock=server_clock)
    try:
        tablet_clock = FakeClock(NOW + off)
        tab = site.tablet("cart", clock=tablet_clock, compare_clocks=True)
        tab.engine.sync_once()
        skews = [a for a in alert_infos(site.core, site.facility_id)
                 if a.alert_type == "clock_skew"]
        assert len(skews) == 1
        word = "behind" if off < timedelta(0) else "ahead of"
        assert word in skews[0].detail and skews[0].device_id == tab.store.device_id
        status = tab.engine.status.current
        assert status.clock_offset_seconds == pytest.approx(off.total_seconds(), abs=2)
        warning = clock_warning(status)
        assert warning is not None and word in warning
        assert _audit_actions(site, "cart").count("clock_off") == 1

        tab.engine.sync_once()  # still off: no second alert, no second record
        assert len([a for a in alert_infos(site.core, site.facility_id)
                    if a.alert_type == "clock_skew"]) == 1
        assert _audit_actions(site, "cart").count("clock_off") == 1
        assert any(a.alert_type == "clock_skew" for a in tab.store.reader().alerts())

        tablet_clock.set(server_clock.now())  # IT sets the clock
        tab.engine.sync_once()
        assert tab.engine.status.current.clock_offset_seconds is None
        assert clock_warning(tab.engine.status.current) is None
        assert _audit_actions(site, "cart")[-2:].count("clock_right") == 1
    finally:
        stop_site(site)


def test_a_clock_within_the_limit_or_not_sent_is_not_judged(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    server_clock = FakeClock(NOW)
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca,
                      clock=server_clock)
    try:
        close = site.tablet("close", clock=FakeClock(NOW + timedelta(minutes=4)),
                            compare_clocks=True)
        older = site.tablet("older", clock=FakeClock(NOW - timedelta(hours=5)),
                            compare_clocks=False)  # an older release sends no clock
        for tab in (close, older):
            tab.engine.sync_once()
            tab.engine.sync_once()
            assert tab.engine.status.current.clock_offset_seconds is None
        assert not [a for a in alert_infos(site.core, site.facility_id)
                    if a.alert_type == "clock_skew"]
        assert "clock_off" not in _audit_actions(site, "close")
    finally:
        stop_site(site)


def test_a_tablet_behind_times_its_entries_and_rules_by_the_servers_clock(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    """Behind by 2 h, a tablet would show the 08:00 doses as not yet due at 10:00 and record
    them two hours early. Its services, store and engine share one clock (ui/startup.py), which
    the sync corrects by the server's: entries are timed right, and once IT sets the clock right
    the next sync returns it to its own clock without a jump."""
    server_clock = FakeClock(NOW)
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca,
                      clock=server_clock)
    try:
        device = TabletClock()
        device.set_wall(NOW - timedelta(hours=2))
        clock = ServerCorrectedClock(device)
        tab = site.tablet("cart", clock=clock, compare_clocks=True)
        assert clock.offset_seconds is None
        tab.engine.sync_once()
        assert clock.offset_seconds == pytest.approx(-7200, abs=2)
        assert abs((clock.now() - server_clock.now()).total_seconds()) < 2
        recorded = tab.store.ledger.append([audit.audit_draft(
            "note", actor=SYSTEM_ACTOR, user_name="system", entity_type="device",
            entity_id=tab.store.device_id, detail="a later entry")])
        at = parse_utc(recorded[0].recorded_at)
        assert abs((at - NOW).total_seconds()) < 2  # not 2 h early

        device.set_wall(clock.now())  # IT sets the clock: no double shift meanwhile
        assert abs((clock.now() - server_clock.now()).total_seconds()) < 2
        tab.engine.sync_once()
        assert clock.offset_seconds is None  # right again: the device's own clock
        assert tab.engine.status.current.clock_offset_seconds is None
        assert _audit_actions(site, "cart")[-2:].count("clock_right") == 1
    finally:
        stop_site(site)
