"""The demo app's facility leaves two orders awaiting verification (so "Verify orders" is not
empty in ``make demo``): a pharmacy import, shown beside the pharmacy's own values, and a
hand-entered change whose verified version stays givable; and it has the accounts that verify
them (a director of nursing and a consultant pharmacist) beside the others."""

from __future__ import annotations

import secrets
from pathlib import Path

from mar_desktop.clock import FakeClock
from mar_desktop.demo.awaiting import CHANGE_REASON, IMPORTED
from mar_desktop.demo.catalog import BY_KEY
from mar_desktop.demo.seed import seed_demo
from mar_desktop.demo.staff import demo_staff
from mar_desktop.envelope import new_id
from mar_desktop.model import Role
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.verification import VerificationService
from storage.local_store import LocalStore
from tests.facility import NOW, append_user


def test_the_demo_leaves_an_import_and_a_hand_entered_change_awaiting(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    store = LocalStore.create(tmp_path / "data", secrets.token_bytes(32), new_id(), clock)
    try:
        ports = Ports(store.ledger, store.reader, clock)
        seeded = seed_demo(
            ports, device_id=store.device_id, facility_id=store.facility_id,
            create_user=lambda p, m: append_user(ports, p, m), days=1, residents_per_unit=3,
            real_clock=FakeClock(NOW), awaiting_verification=True,
        )
        pharmacist = next(s.user for s in seeded.staff if s.user.role == Role.PHARMACIST)
        items = VerificationService(ports).pending(
            Principal(user=pharmacist, device_id=store.device_id)
        )
        by_source = {item.pending.source: item for item in items}
        assert len(items) == 2 and set(by_source) == {"import", "hand"}
        imported = by_source["import"]
        assert imported.pending.what == "new" and imported.may_verify
        rows = {row.field: row for row in imported.rows}
        assert rows["drug"].source == BY_KEY[IMPORTED].drug == rows["drug"].transcribed
        assert rows["dose"].source == "20 mg" and not rows["dose"].differs
        change = by_source["hand"]
        assert change.pending.what == "change" and change.pending.reason == CHANGE_REASON
        before = {row.field: row.transcribed for row in change.previous}
        assert before["dose"] != {row.field: row.transcribed for row in change.rows}["dose"]
        replaced = ports.reader().order(change.pending.state.replaces or "")
        assert replaced is not None and replaced.givable  # the verified version stays givable
    finally:
        store.close()


def test_the_demo_has_a_director_of_nursing_and_a_pharmacist_with_their_own_secrets() -> None:
    staff = demo_staff(("u1", "u2"))
    roles = {s.user.role for s in staff}
    assert {Role.DIRECTOR_OF_NURSING, Role.PHARMACIST} <= roles
    assert len({s.totp_secret for s in staff}) == len(staff)
    assert len({s.password for s in staff}) == len(staff)
    assert all(len(s.totp_secret) == 32 for s in staff)
