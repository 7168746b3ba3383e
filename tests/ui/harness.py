"""A small, fully controlled facility on the real stack (LocalStore, services, AuthService)
for the UI tests: two units, seven staff, three residents, and orders chosen for the flows
(routine oral dose, insulin with a glucose hold, Schedule II opioid, PRN).

The fake clock starts at 08:00 New York time, when every 08:00 dose is due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from mar_desktop.clock import FakeClock
from mar_desktop.demo.catalog import gtin_for_ndc
from mar_desktop.model import (
    ALL_UNITS,
    Allergy,
    Facility,
    HoldParameter,
    Order,
    Resident,
    Role,
    Schedule,
    User,
)
from mar_desktop.people import issue
from mar_desktop.people.accounts import AccountService
from mar_desktop.people.passwords import Argon2Parameters, PasswordHashing
from mar_desktop.people.statements import AccountRecord
from mar_desktop.people.totp import code_at
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.reference import ReferenceService
from mar_desktop.services.verification import VerificationService
from storage.credentials import SqlCredentialStore
from storage.local_store import LocalStore
from tests.accounts import Keys
from ui.app import build_backend
from ui.backend import Backend

START = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)  # 08:00 in New York
PASSWORD = "correct horse battery staple"
METOPROLOL_GTIN = gtin_for_ndc("0378-0018-01")
INSULIN_GTIN = gtin_for_ndc("0088-2220-33")
OXYCODONE_GTIN = gtin_for_ndc("0406-0552-01")
OTHER_GTIN = gtin_for_ndc("0093-0311-01")
SECRETS = {
    "nurse": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
    "nurse2": "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK",
    "cna": "ONSWG4TFOQ4TCMRTONSWG4TFOQ4TCMRT",
    "surveyor": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    "admin": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "don": "NBSWY3DPNBSWY3DPNBSWY3DPNBSWY3DP",
    "rph": "OBQXE3LBMNUXG5DPOBQXE3LBMNUXG5DP",
}


def med_scan(gtin: str, expiry: str = "271231", lot: str = "LOT42") -> str:
    """A GS1 DataMatrix as a keyboard-wedge scanner types it (GS written as <GS>)."""
    return f"]d201{gtin}17{expiry}10{lot}"


def user(uid: str, username: str, name: str, creds: str, role: Role,
         units: tuple[str, ...] = ()) -> User:
    initials = "".join(p[0] for p in name.split())[:4]
    return User(user_id=uid, username=username, full_name=name, initials=initials,
                credentials=creds, role=role, unit_ids=units)


@dataclass
class Facility1:
    store: LocalStore
    clock: FakeClock
    backend: Backend
    residents: dict[str, Resident]
    orders: dict[str, Order]

    def code(self, username: str) -> str:
        return code_at(SECRETS[username], self.clock.now())


def _order(oid: str, resident: str, drug: str, gtin: str, **fields: object) -> Order:
    values: dict[str, object] = {
        "order_id": oid, "resident_id": resident, "drug": drug, "gtins": (gtin,),
        "dose": Decimal("25"), "dose_unit": "mg", "route": "PO",
        "schedule": Schedule(kind="fixed_times", times=("08:00",)),
        "start": datetime(2025, 12, 1, tzinfo=UTC),
    }
    values.update(fields)
    return Order.model_validate(values)


def build_facility(
    tmp_path: Path, defer: Callable[[Callable[[], None]], None] | None = None
) -> Facility1:
    clock = FakeClock(START)
    store = LocalStore.create(tmp_path / "data", bytes(range(32)), "fac-ui", clock)
    ports = Ports(store.ledger, store.reader, clock)
    reference = ReferenceService(ports)
    reference.configure_facility(
        Facility(facility_id=store.facility_id, name="Maple Court", timezone="America/New_York")
    )
    admin = user("u-admin", "admin", "Dana Whitfield", "RN", Role.FACILITY_ADMIN)
    reference.bootstrap_admin(admin)
    boss = Principal(user=admin, device_id=store.device_id)
    reference.create_unit(boss, "Rose Wing", "unit-a")
    reference.create_unit(boss, "Oak Wing", "unit-b")
    credentials = SqlCredentialStore(store.connect_reader, clock)
    fast = PasswordHashing(Argon2Parameters(time_cost=1, memory_kib=1024, parallelism=1))
    keys = Keys()
    accounts = AccountService(ports, credentials, fast, user_key=keys.source)
    accounts.install_credentials(admin.user_id, PASSWORD, totp_secret=SECRETS["admin"])
    keys.open(credentials, admin.user_id, PASSWORD)
    staff = [
        user("u-nurse", "nurse", "Marisol Ortega", "RN", Role.NURSE, (ALL_UNITS,)),
        user("u-nurse2", "nurse2", "Tobias Brandt", "LPN", Role.NURSE, (ALL_UNITS,)),
        user("u-cna", "cna", "Keisha Lambert", "CMA", Role.CNA, ("unit-a",)),
        user("u-surveyor", "surveyor", "Harold Finch", "", Role.READ_ONLY),
        user("u-new", "newbie", "Nora Quist", "RN", Role.NURSE, (ALL_UNITS,)),
        user("u-don", "don", "Ruth Adeyemi", "RN, DON", Role.DIRECTOR_OF_NURSING),
        user("u-rph", "rph", "Samir Haddad", "PharmD", Role.PHARMACIST),
    ]
    for member in staff:
        accounts.create_user(boss, member, PASSWORD)
        if member.username in SECRETS:
            latest = credentials.latest(member.user_id)
            assert isinstance(latest, AccountRecord)
            for record in issue.first_sign_in(
                latest, PASSWORD, PASSWORD, SECRETS[member.username], fast.params,
                at=clock.now(), device_id=store.device_id,
            ):
                credentials.append(record)
    credentials.close()
    residents = {
        "r1": Resident(resident_id="r1", unit_id="unit-a", given_name="Agnes",
                       family_name="Holloway", date_of_birth=date(1938, 4, 2), room="101",
                       wristband_id="WB100001",
                       allergies=(Allergy(substance="Penicillin", reaction="hives"),)),
        "r2": Resident(resident_id="r2", unit_id="unit-a", given_name="Bernard",
                       family_name="Osei", date_of_birth=date(1941, 9, 17), room="102",
                       wristband_id="WB100002"),
        "r3": Resident(resident_id="r3", unit_id="unit-b", given_name="Clarence",
                       family_name="Mbeki", date_of_birth=date(1935, 1, 30), room="201",
                       wristband_id="WB200001"),
    }
    for resident in residents.values():
        reference.admit_resident(boss, resident)
    orders = {
        "meto": _order("o-meto", "r1", "Metoprolol tartrate", METOPROLOL_GTIN,
                       strength="25 mg", form="tablet"),
        "insulin": _order("o-ins", "r2", "Insulin glargine", INSULIN_GTIN, dose=Decimal("10"),
                          dose_unit="units", route="SC", site_required=True,
                          hold_parameters=(HoldParameter(vital="glucose",
                                                         minimum=Decimal("70")),)),
        "oxy": _order("o-oxy", "r2", "Oxycodone", OXYCODONE_GTIN, dose=Decimal("5"),
                      controlled_schedule="II"),
        "prn": _order("o-prn", "r1", "Acetaminophen", OTHER_GTIN, dose=Decimal("500"),
                      schedule=Schedule(kind="prn", prn_min_interval_minutes=240,
                                        prn_max_doses_24h=4)),
        "b": _order("o-b", "r3", "Lisinopril", gtin_for_ndc("0172-3760-60"),
                    dose=Decimal("10")),
    }
    for order in orders.values():
        reference.create_order(boss, order)
    # a second licensed person verifies what the admin entered (docs/architecture.md)
    verifier = Principal(user=staff[1], device_id=store.device_id)
    queue = ports.reader().pending_verifications()
    VerificationService(ports).verify_many(verifier, [p.target_entry_id for p in queue])
    backend = build_backend(store, clock, defer=defer)
    return Facility1(store, clock, backend, residents, orders)
