"""What the admin screens read, each behind its permission: the staff list with sign-in state,
the resident register, a resident's orders, the facility settings, this device's identity and
the choices of the audit and print screens.

Every method checks its permission first; a refusal appends a ``permission_refused`` audit entry
and raises PermissionDenied (:meth:`Service._require`). Reading a resident's orders is reading
their record and appends ``resident_viewed``; the lists (names, rooms, units, settings, sign-in
state without any secret) are not audited one by one, so opening a screen does not flood the
audit chain. The audit log itself and exports are audited by their own services.

Thread: worker only (reads the database).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mar_desktop import audit
from mar_desktop.model import Facility, Resident, Unit, User
from mar_desktop.people.ports import CredentialStore
from mar_desktop.permissions import Permission, Principal, allowed
from mar_desktop.services.base import Ports, Service
from mar_desktop.views import OrderState


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """One account and its sign-in state on this device (no secret)."""

    user: User
    failures: int = 0
    locked: bool = False
    has_credentials: bool = False
    mfa_enrolled: bool = False
    must_change_password: bool = False


@dataclass(frozen=True, slots=True)
class StaffList:
    accounts: list[StaffAccount]
    units: list[Unit]


@dataclass(frozen=True, slots=True)
class ResidentRegister:
    """Every resident (discharged too), the units, and the facility's time zone name."""

    residents: list[Resident]
    units: list[Unit]
    zone: str


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """This device as the store knows it (given by the composition root)."""

    device_id: str
    facility_id: str
    public_key_hex: str


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device_id: str
    facility_id: str
    facility_name: str
    key_fingerprint: str  # the first 128 bits of SHA-256 of the public key, in groups of 4


@dataclass(frozen=True, slots=True)
class AuditChoices:
    """(id, label) pairs for the audit screen's filters, and the facility's time zone name."""

    users: list[tuple[str, str]]
    residents: list[tuple[str, str]]
    zone: str


@dataclass(frozen=True, slots=True)
class PrintChoices:
    """The units the person may print for, their residents, and the time zone name."""

    units: list[Unit]
    residents: list[Resident]
    zone: str


class AdminReads(Service):
    """See the module docstring."""

    def __init__(self, ports: Ports, credentials: CredentialStore, device: DeviceIdentity) -> None:
        super().__init__(ports)
        self._credentials = credentials
        self._device = device

    def staff(self, principal: Principal) -> StaffList:
        """Every account (inactive too) with its sign-in state, active first, by name.
        Needs ``manage_users``."""
        self._require(principal, Permission.MANAGE_USERS, entity_type="user")
        read = self._read
        accounts = []
        for user in read.users(include_inactive=True):
            record = self._credentials.latest(user.user_id)
            state = self._credentials.throttle_state(user.user_id)
            accounts.append(StaffAccount(
                user=user,
                failures=state.failures,
                locked=state.locked,
                has_credentials=record is not None,
                mfa_enrolled=bool(record and record.totp_enrolled),
                must_change_password=bool(record and record.must_change_password),
            ))
        accounts.sort(key=lambda a: (not a.user.active, a.user.full_name.lower()))
        return StaffList(accounts, read.units())

    def resident_register(self, principal: Principal) -> ResidentRegister:
        """Needs ``manage_residents``."""
        self._require(principal, Permission.MANAGE_RESIDENTS, entity_type="resident")
        read = self._read
        return ResidentRegister(read.residents(include_inactive=True), read.units(),
                                self._zone_name())

    def resident_orders(self, principal: Principal, resident_id: str) -> list[OrderState]:
        """Every order of the resident, discontinued too. Needs ``manage_orders`` on the
        resident's unit; appends ``resident_viewed`` (detail ``orders``)."""
        self._resident_in_scope(principal, resident_id, Permission.MANAGE_ORDERS)
        orders = self._read.orders([resident_id], include_discontinued=True)
        self._append([audit.audit_for(principal, audit.RESIDENT_VIEWED, entity_type="resident",
                                      entity_id=resident_id, detail="orders")])
        return orders

    def facility_settings(self, principal: Principal) -> Facility:
        """Needs ``manage_settings``, or ``manage_clinical_settings`` (a director of nursing:
        the settings screen then lets them change the clinical settings only); NotFound before
        the facility is configured."""
        if allowed(principal.role, Permission.MANAGE_SETTINGS):
            self._require(principal, Permission.MANAGE_SETTINGS, entity_type="facility")
        else:
            self._require(principal, Permission.MANAGE_CLINICAL_SETTINGS, entity_type="facility")
        return self._facility()

    def device(self, principal: Principal) -> DeviceInfo:
        """This device's identity and key fingerprint. Needs ``manage_devices``."""
        self._require(principal, Permission.MANAGE_DEVICES, entity_type="device")
        facility = self._read.facility()
        digest = hashlib.sha256(bytes.fromhex(self._device.public_key_hex)).hexdigest()[:32]
        return DeviceInfo(
            self._device.device_id,
            self._device.facility_id,
            facility.name if facility else "",
            " ".join(digest[i:i + 4] for i in range(0, 32, 4)),
        )

    def audit_choices(self, principal: Principal) -> AuditChoices:
        """Everyone and every resident, for the audit filters. Needs ``view_audit``."""
        self._require(principal, Permission.VIEW_AUDIT, entity_type="audit")
        read = self._read
        users = [(u.user_id, f"{u.full_name} ({u.role.value.replace('_', ' ')})")
                 for u in sorted(read.users(include_inactive=True), key=lambda u: u.full_name)]
        residents = [(r.resident_id, f"{r.display_name} · room {r.room}")
                     for r in read.residents(include_inactive=True)]
        return AuditChoices(users, residents, self._zone_name())

    def print_choices(self, principal: Principal) -> PrintChoices:
        """The units in the person's scope now and their residents. Needs ``print_reports``."""
        self._require(principal, Permission.PRINT_REPORTS, entity_type="report")
        read = self._read
        now = self._clock.now()
        units = [u for u in read.units() if principal.may_see_unit(u.unit_id, now)]
        return PrintChoices(units, read.residents([u.unit_id for u in units]), self._zone_name())

    def _zone_name(self) -> str:
        facility = self._read.facility()
        return facility.timezone if facility else "UTC"

