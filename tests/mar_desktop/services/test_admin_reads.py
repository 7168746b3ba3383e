"""The admin screens' reads on a real encrypted store: each checks its permission (a refusal is
audited and returns nothing), a resident's orders are audited as a view of their record, and
the lists are not audited one by one."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mar_desktop.envelope import AUDIT_PREFIX
from mar_desktop.errors import PermissionDenied
from mar_desktop.services.admin_reads import AdminReads, DeviceIdentity
from storage.credentials import SqlCredentialStore
from tests.facility import World

READS: dict[str, Callable[[AdminReads, object], object]] = {
    "staff": lambda reads, p: reads.staff(p),  # type: ignore[arg-type]
    "resident_register": lambda reads, p: reads.resident_register(p),  # type: ignore[arg-type]
    "facility_settings": lambda reads, p: reads.facility_settings(p),  # type: ignore[arg-type]
    "device": lambda reads, p: reads.device(p),  # type: ignore[arg-type]
    "audit_choices": lambda reads, p: reads.audit_choices(p),  # type: ignore[arg-type]
}


def audit_rows(world: World) -> list[tuple[str, str]]:
    """(kind, body) of every audit entry, oldest first."""
    conn = world.store.connect_reader()
    try:
        return [(row[0], bytes(row[1]).decode())
                for row in conn.execute("SELECT kind, raw FROM audit ORDER BY seq")]
    finally:
        conn.close()


@pytest.fixture
def reads(world: World) -> Iterator[AdminReads]:
    credentials = SqlCredentialStore(world.store.connect_reader, world.clock)
    identity = DeviceIdentity(world.store.device_id, world.store.facility_id,
                              world.store.ledger.public_key_hex)
    made = AdminReads(world.ports, credentials, identity)
    yield made
    credentials.close()


@pytest.mark.parametrize("name", sorted(READS))
def test_a_nurse_is_refused_every_admin_read_and_the_refusal_is_audited(
    world: World, reads: AdminReads, name: str
) -> None:
    before = len(audit_rows(world))
    with pytest.raises(PermissionDenied):
        READS[name](reads, world.principal("nurse"))
    added = audit_rows(world)[before:]
    assert [kind for kind, _body in added] == [AUDIT_PREFIX + "permission_refused"]


@pytest.mark.parametrize("name", sorted(READS))
def test_the_admin_lists_are_read_without_an_audit_entry_each(
    world: World, reads: AdminReads, name: str
) -> None:
    before = len(audit_rows(world))
    assert READS[name](reads, world.principal("admin"))
    assert audit_rows(world)[before:] == []


def test_a_residents_orders_are_a_view_of_their_record(world: World, reads: AdminReads) -> None:
    resident, order = world.resident_with("")
    before = len(audit_rows(world))
    orders = reads.resident_orders(world.principal("admin"), resident.resident_id)
    assert order.order_id in {state.order.order_id for state in orders}
    added = audit_rows(world)[before:]
    assert len(added) == 1 and added[0][0] == AUDIT_PREFIX + "resident_viewed"
    assert resident.resident_id in added[0][1]


def test_a_cna_may_not_read_a_residents_orders_for_the_admin_screen(
    world: World, reads: AdminReads
) -> None:
    resident, _order = world.resident_with("")
    with pytest.raises(PermissionDenied):
        reads.resident_orders(world.principal("cna"), resident.resident_id)
    assert audit_rows(world)[-1][0] == AUDIT_PREFIX + "permission_refused"


def test_the_staff_list_shows_sign_in_state_and_no_secret(world: World, reads: AdminReads) -> None:
    staff = reads.staff(world.principal("admin"))
    assert {a.user.username for a in staff.accounts} >= {"admin", "nurse", "cna"}
    assert [a.user.active for a in staff.accounts] == sorted(
        (a.user.active for a in staff.accounts), reverse=True)
    assert staff.units
    text = repr(staff)
    assert "argon2" not in text and "totp_secret" not in text


def test_the_device_fingerprint_is_the_public_keys(world: World, reads: AdminReads) -> None:
    import hashlib

    info = reads.device(world.principal("admin"))
    digest = hashlib.sha256(bytes.fromhex(world.store.ledger.public_key_hex)).hexdigest()[:32]
    assert info.key_fingerprint.replace(" ", "") == digest
    assert info.device_id == world.store.device_id
    assert info.facility_name
