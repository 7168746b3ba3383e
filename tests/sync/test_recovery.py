"""When a copy goes wrong: a cloned tablet, a server restored from an older backup, a revoked
device — on a real server over real TLS 1.3 (SQLite: the restore is a file copy)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import trustme

from mar_desktop.clock import FakeClock
from mar_desktop.errors import DeviceRevoked, ForkDetected
from storage.sync_state import FLAG_FORK
from sync.server import cli
from sync.server.app import alert_infos
from tests.facility import NOW
from tests.sync.conftest import Site, Tablet, restart_site, start_site, stop_site
from tests.sync.world import (
    Cart,
    assert_verified,
    cart,
    ledger_rows,
    next_slot,
    own_rows,
    plain_orders,
    seed,
    server_rows,
    two_carts,
)


def _give_all(
    c: Cart, seeded: object, pair: tuple[object, object], carts: list[Cart], clock: FakeClock
) -> None:
    """One dose at its slot; every clock (carts and server) moves there together."""
    resident, order = pair
    slot = next_slot(c, order)  # type: ignore[arg-type]
    for other in carts:
        other.clock.set(slot)  # type: ignore[arg-type]
    clock.set(slot)  # type: ignore[arg-type]
    c.give(seeded, order, resident, slot)  # type: ignore[arg-type]


def _cli(site: Site, *args: str) -> list[str]:
    return ["--data", str(site.data), "--db", site.db_url, *args]


def _all_rows(site: Site) -> list[tuple[str, int, str]]:
    return server_rows(site, "ledger") + server_rows(site, "audit")


def _entry_ids(site: Site) -> list[str]:
    out: list[str] = []
    for chain in ("ledger", "audit"):
        after = 0
        while True:
            page = site.core.store.feed(site.facility_id, chain, after, 1000)  # type: ignore[arg-type]
            out.extend(e.entry_id for e in page)
            if len(page) < 1000:
                break
            after = page[-1].pos
    return out


def _pull_quarantine(tab: Tablet) -> list[object]:
    return [q for q in tab.engine.state.quarantined() if q.direction == "pull"]


# ---- cloned tablet --------------------------------------------------------------------------
def test_cloned_tablet_is_refused_as_a_fork_and_the_original_keeps_syncing(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(NOW)
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca, clock=clock)
    try:
        a = cart(site, "cart-a")
        seeded = seed(a)
        a.tab.engine.sync_once()
        doses = plain_orders(seeded, 3)

        # The data folder and key are copied to a second machine (the store closed, as a copy
        # of a powered-off tablet would be).
        a.tab.close()
        site.tablets.remove(a.tab)
        clone_dir = tmp_path / "clone-machine"
        shutil.copytree(a.tab.data_dir, clone_dir)
        original = Cart(site.reopen(a.tab, a.tab.data_dir, a.clock), a.clock)
        clone_clock = FakeClock(NOW)
        clone = Cart(site.reopen(a.tab, clone_dir, clone_clock), clone_clock)
        device = original.tab.store.device_id
        assert clone.tab.store.device_id == device

        # Both record a DIFFERENT dose with the same seq numbers.
        _give_all(original, seeded, doses[0], [original, clone], clock)
        _give_all(clone, seeded, doses[1], [original, clone], clock)
        assert ledger_rows(original.tab)[-1:] != ledger_rows(clone.tab)[-1:]
        original.tab.engine.sync_once()
        held_before = own_rows(site, device, "ledger")

        with pytest.raises(ForkDetected):
            clone.tab.engine.sync_once()
        status = clone.tab.engine.status.current
        assert status.state == "fork" and status.last_error
        assert clone.tab.engine.state.flag(FLAG_FORK)
        assert own_rows(site, device, "ledger") == held_before  # nothing of the clone stored

        # The server raised a fork alert naming the device; `mar-server alerts` shows it.
        forks = [x for x in alert_infos(site.core, site.facility_id) if x.alert_type == "fork"]
        assert len(forks) == 1 and forks[0].device_id == device
        capsys.readouterr()
        assert cli.main(_cli(site, "alerts")) == 0
        shown = capsys.readouterr().out
        assert "fork" in shown and device in shown

        # The clone stops pushing: its next sync sends nothing, even with more records.
        _give_all(clone, seeded, doses[2], [original, clone], clock)
        with pytest.raises(ForkDetected):
            clone.tab.engine.sync_once()
        assert own_rows(site, device, "ledger") == held_before
        assert clone.tab.engine.status.current.state == "fork"

        # The original keeps syncing normally and gets the alert.
        _give_all(original, seeded, doses[2], [original, clone], clock)
        report = original.tab.engine.sync_once()
        assert report.pushed > 0 and original.tab.engine.pending() == 0
        assert original.tab.engine.status.current.state == "online"
        assert own_rows(site, device, "ledger") == [
            r for r in ledger_rows(original.tab) if r[0] == device
        ]
        assert any(x.alert_type == "fork" for x in original.tab.store.reader().alerts())
        assert not original.tab.engine.state.flag(FLAG_FORK)
        assert_verified(site, [original.tab])
        assert cli.main(_cli(site, "verify")) == 0
    finally:
        stop_site(site)


# ---- server restored from an older backup ---------------------------------------------------
def test_server_restored_from_an_older_copy_is_resent_everything_including_its_own_entries(
    tmp_path: Path, cert_files: Path, ca: trustme.CA
) -> None:
    clock = FakeClock(NOW)
    db = tmp_path / "server.sqlite3"
    site = start_site(tmp_path, str(db), cert_files, ca, clock=clock)
    try:
        a = cart(site, "cart-a", push_batch=40, page_size=40)
        seeded = seed(a)
        a.tab.engine.sync_once()
        b = cart(site, "cart-b", push_batch=40, page_size=40)
        b.tab.engine.sync_once()
        doses = plain_orders(seeded, 3)
        _give_all(a, seeded, doses[0], [a, b], clock)
        for c in (a, b):
            c.tab.engine.sync_once()

        # The backup: a copy of the database file, taken while the server is stopped.
        site.stop_server()
        backup = tmp_path / "backup.sqlite3"
        shutil.copyfile(db, backup)
        assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
        restart_site(site, cert_files, clock)
        at_backup = _all_rows(site)

        # After the backup: a tablet is enrolled (server entry device.enrolled), the same dose
        # is given on two carts (the server raises a double-dose alert: another own entry).
        c_ = cart(site, "cart-c", push_batch=40, page_size=40)
        carts = [a, b, c_]
        _give_all(a, seeded, doses[1], carts, clock)
        slot_pair = doses[2]
        slot = next_slot(a, slot_pair[1])  # type: ignore[arg-type]
        for x in carts:
            x.clock.set(slot)  # type: ignore[arg-type]
        clock.set(slot)  # type: ignore[arg-type]
        a.give(seeded, slot_pair[1], slot_pair[0], slot)  # type: ignore[arg-type]
        b.give(seeded, slot_pair[1], slot_pair[0], slot)  # type: ignore[arg-type]
        for x in (a, b, c_, a, b):
            x.tab.engine.sync_once()
        before_loss = _all_rows(site)
        alerts_before = alert_infos(site.core, site.facility_id)
        assert [x.alert_type for x in alerts_before] == ["double_dose"]
        assert len(before_loss) > len(at_backup)

        # The restore: the older copy put back while the server is stopped, then restarted.
        site.stop_server()
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(backup, db)
        restart_site(site, cert_files, clock)
        assert _all_rows(site) == at_backup
        assert site.core.store.get_device(c_.tab.store.device_id) is None  # lost with the file

        # The next sync of every tablet re-sends what the server lost — its own entries too,
        # first (so the enrolment of cart C and the alert come back with their bytes).
        first = a.tab.engine.sync_once()
        assert first.pushed > 0 and a.tab.engine.relayed > 0
        assert site.core.store.get_device(c_.tab.store.device_id) is not None
        for x in (b, c_, a, b, c_):
            x.tab.engine.sync_once()
        now_held = _all_rows(site)
        assert set(before_loss) <= set(now_held)
        ids = _entry_ids(site)
        assert len(ids) == len(set(ids))  # every entry once
        assert [x.alert_id for x in alert_infos(site.core, site.facility_id)] == [
            x.alert_id for x in alerts_before
        ]  # the alert came back as it was, not raised a second time

        # The server writes its own entries again after the restore: they continue its chain,
        # so every tablet takes them (no fork of the server chain, nothing held back).
        d = cart(site, "cart-d", push_batch=40, page_size=40)
        for x in (d, a, b, c_):
            x.tab.engine.sync_once()
        tabs = [a.tab, b.tab, c_.tab, d.tab]
        for tab in tabs:
            assert _pull_quarantine(tab) == []
            assert tab.engine.pending() == 0
            assert ledger_rows(tab) == server_rows(site, "ledger")
        server_device = site.core.store.server_device(site.facility_id)
        assert server_device is not None
        seqs = [r[1] for r in own_rows(site, server_device.device_id, "ledger")]
        assert seqs == list(range(1, len(seqs) + 1))
        assert_verified(site, tabs)
        assert cli.main(_cli(site, "verify")) == 0
    finally:
        stop_site(site)


def test_a_healthy_server_is_returned_nothing_of_its_own(site: Site) -> None:
    """The relay only sends what the server lacks: on a healthy server a sync relays nothing."""
    a = site.tablet("healthy")
    a.engine.sync_once()
    site.tablet("other").engine.sync_once()  # another device.enrolled on the server chain
    a.engine.sync_once()
    assert a.engine.relayed == 0


# ---- revoked device -------------------------------------------------------------------------
def test_revoked_tablet_is_refused_and_its_past_entries_stay_valid(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(NOW)
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca, clock=clock)
    try:
        a, b, seeded = two_carts(site)
        doses = plain_orders(seeded, 2)
        _give_all(a, seeded, doses[0], [a, b], clock)
        a.tab.engine.sync_once()
        device = a.tab.store.device_id
        held = own_rows(site, device, "ledger") + own_rows(site, device, "audit")

        assert cli.main(_cli(site, "revoke-device", device)) == 0
        assert "revoked" in capsys.readouterr().out

        _give_all(a, seeded, doses[1], [a, b], clock)
        pending = a.tab.engine.pending()
        assert pending > 0
        with pytest.raises(DeviceRevoked):
            a.tab.engine.sync_once()
        status = a.tab.engine.status.current
        assert status.state == "revoked"
        assert status.last_error is not None and "revoked" in status.last_error
        assert "administrator" in status.last_error  # plain words, not a status code
        assert own_rows(site, device, "ledger") + own_rows(site, device, "audit") == held
        # nothing was sent or lost; the tablet audited what it learned (it has no key store
        # to erase here, so its records stay)
        assert a.tab.engine.pending() == pending + 1
        conn = a.tab.store.connect_reader()
        try:
            kinds_held = {r[0] for r in conn.execute("SELECT kind FROM audit").fetchall()}
        finally:
            conn.close()
        assert "audit.device_revoked" in kinds_held

        # Its past entries stay valid: the server verifies them, the other tablet holds them.
        b.tab.engine.sync_once()
        mine = {r for r in server_rows(site) if r[0] == device}
        assert mine and mine <= set(ledger_rows(b.tab))
        assert _pull_quarantine(b.tab) == []
        assert_verified(site, [b.tab])
        assert cli.main(_cli(site, "verify")) == 0
        # a tablet enrolled after the revocation still takes and verifies them
        c_ = cart(site, "cart-c")
        c_.tab.engine.sync_once()
        assert mine <= set(ledger_rows(c_.tab)) and _pull_quarantine(c_.tab) == []
        assert_verified(site, [c_.tab])
    finally:
        stop_site(site)
