"""Account administration (facility admins): create, deactivate, role, units, unlock, MFA and
password resets.

Every method: worker thread; checks ``manage_users`` first (a refusal is audited and nothing
else is written); then writes the account record (if any) and appends the ``user.created``
/ ``user.changed`` ledger entry together with its ``audit.*`` entry (before/after values, never
a secret) in one ledger transaction. The account record is stored first: if the process dies
in between, an unused account version is left over, never an account without credentials.

Each account record an admin makes is a statement signed with the admin's own user key, held by
the admin's session (``user_key``: e.g. ``SessionManager.user_key``); it takes effect on this
tablet at once and on every other one only after the server co-signs it at the next sync (see
:mod:`mar_desktop.people.authority`). Account creation and a password reset name the binding
key of the temporary password, which authorises the user's first key at their next sign-in.
Raises PermissionDenied (also: no signing key in this session), ValidationError
(PasswordRejected), NotFound or Conflict.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mar_desktop import audit, kinds
from mar_desktop.envelope import SYSTEM_ACTOR, EntryDraft
from mar_desktop.errors import Conflict, NotFound, PermissionDenied, ValidationError
from mar_desktop.model import ALL_UNITS, Role, User
from mar_desktop.people import issue, throttle
from mar_desktop.people.passwords import PasswordHashing, PasswordPolicy
from mar_desktop.people.ports import CredentialStore
from mar_desktop.people.statements import (
    SYSTEM,
    ZERO_DIGEST,
    AccountRecord,
    StatementChange,
    build,
)
from mar_desktop.permissions import ALL_UNIT_ROLES, Permission, Principal
from mar_desktop.services.base import Ports, Service, nonblank
from mar_desktop.signing import DeviceSigner

KeySource = Callable[[str], DeviceSigner | None]
"""The signed-in user's own key by user id (None when that user has no open session)."""

_TEMP_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    """A random one-time password for a new account or a reset (~100 bits, typable)."""
    raw = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(20))
    return "-".join(raw[i : i + 5] for i in range(0, 20, 5))


@dataclass(frozen=True, slots=True)
class IssuedPassword:
    """A user and the temporary password to hand over in person. Shown once."""

    user: User
    temporary_password: str = field(repr=False)


class AccountService(Service):
    """See the module docstring."""

    def __init__(
        self,
        ports: Ports,
        credentials: CredentialStore,
        hashing: PasswordHashing | None = None,
        user_key: KeySource | None = None,
    ) -> None:
        super().__init__(ports)
        self._credentials = credentials
        self._hashing = hashing or PasswordHashing()
        self._user_key = user_key or (lambda _user_id: None)

    # ---- creating -----------------------------------------------------------------------------
    def create_user(
        self, principal: Principal, user: User, password: str | None = None
    ) -> IssuedPassword:
        """Creates ``user`` with a temporary password (generated when None) that must be
        changed at first sign-in, followed by TOTP enrolment."""
        self._require(principal, Permission.MANAGE_USERS, entity_type="user")
        read = self._read
        if read.user(user.user_id) is not None:
            raise Conflict("An account with this id exists.")
        if read.user_by_username(user.username) is not None:
            raise Conflict("This username is taken.")
        self._known_units(user.unit_ids)
        key = self._admin_key(principal)
        self._units_chosen(user.role, user.unit_ids)
        temp = password if password is not None else temporary_password()
        self._policy().check(temp, username=user.username, full_name=user.full_name)
        record = issue.new_account(
            user_id=user.user_id,
            username=user.username,
            role=user.role,
            unit_ids=user.unit_ids,
            active=user.active,
            temp=temp,
            params=self._hashing.params,
            at=self._clock.now(),
            by=principal.user.user_id,
            device_id=self._ledger.device_id,
        ).signed(key)
        self._credentials.append(record)
        self._append(
            [
                EntryDraft(
                    kinds.USER_CREATED,
                    principal.actor,
                    kinds.body_json(kinds.UserCreated(user=user)),
                ),
                audit.audit_for(
                    principal,
                    audit.USER_CREATED,
                    entity_type="user",
                    entity_id=user.user_id,
                    after=user,
                    detail="Account created with a temporary password",
                ),
            ]
        )
        return IssuedPassword(user, temp)

    # ---- changing the account -------------------------------------------------------------------
    def deactivate(self, principal: Principal, user_id: str, reason: str) -> User:
        if user_id == principal.user.user_id:
            self._require(principal, Permission.MANAGE_USERS, entity_type="user")
            raise Conflict("You cannot deactivate your own account.")
        return self._change(principal, user_id, {"active": False}, reason, "Deactivated")

    def reactivate(self, principal: Principal, user_id: str, reason: str) -> User:
        return self._change(principal, user_id, {"active": True}, reason, "Reactivated")

    def change_role(self, principal: Principal, user_id: str, role: Role, reason: str) -> User:
        if user_id == principal.user.user_id and role is not Role.FACILITY_ADMIN:
            self._require(principal, Permission.MANAGE_USERS, entity_type="user")
            raise Conflict("You cannot remove your own administrator role.")
        return self._change(principal, user_id, {"role": role}, reason, "Role changed")

    def change_units(
        self, principal: Principal, user_id: str, unit_ids: Sequence[str], reason: str
    ) -> User:
        self._known_units(unit_ids)
        units = tuple(dict.fromkeys(unit_ids))
        return self._change(principal, user_id, {"unit_ids": units}, reason, "Units changed")

    def update_details(
        self,
        principal: Principal,
        user_id: str,
        *,
        full_name: str,
        initials: str,
        credentials: str,
        reason: str,
    ) -> User:
        fields: dict[str, object] = {
            "full_name": full_name,
            "initials": initials,
            "credentials": credentials,
        }
        return self._change(principal, user_id, fields, reason, "Details changed")

    # ---- credentials ----------------------------------------------------------------------------
    def unlock(self, principal: Principal, user_id: str, reason: str = "") -> User:
        """Clears this device's lockout and failure counters for the account."""
        user = self._target(principal, user_id)
        before = self._credentials.throttle_state(user_id)
        if isinstance(self._credentials.latest(user_id), AccountRecord):
            self._sign(principal, user_id, "unlocked", unlocked_at=self._clock.now())
        self._credentials.save_throttle_state(user_id, throttle.unlock(before))
        self._record_change(
            principal,
            user,
            user,
            reason or "Account unlocked",
            audit.UNLOCKED,
            before_audit={"failures": before.failures, "locked": before.locked},
            after_audit={"failures": 0, "locked": False},
        )
        return user

    def reset_mfa(self, principal: Principal, user_id: str, reason: str) -> User:
        """Removes the authenticator secret and recovery codes; the user enrols again at the
        next sign-in (after the password)."""
        user = self._target(principal, user_id)
        held = self._credentials.latest(user_id)
        enrolled = held is not None and held.totp_enrolled
        self._sign(
            principal, user_id, "mfa_reset", totp_secret=None, totp_enrolled=False,
            recovery_codes=(),
        )
        self._record_change(
            principal,
            user,
            user,
            nonblank(reason, "A reason"),
            audit.MFA_RESET,
            before_audit={"totp_enrolled": enrolled},
            after_audit={"totp_enrolled": False},
        )
        return user

    def reset_password(
        self, principal: Principal, user_id: str, reason: str, password: str | None = None
    ) -> IssuedPassword:
        """Sets a temporary password that must be changed at the next sign-in."""
        user = self._target(principal, user_id)
        record = self._record(user_id)
        temp = password if password is not None else temporary_password()
        self._policy().check(temp, username=user.username, full_name=user.full_name)
        self._reset(principal, user, record, temp)
        self._record_change(
            principal,
            user,
            user,
            nonblank(reason, "A reason"),
            audit.PASSWORD_RESET,
            before_audit={"must_change_password": record is None or record.must_change_password},
            after_audit={"must_change_password": True},
        )
        return IssuedPassword(user, temp)

    def install_credentials(
        self,
        user_id: str,
        password: str,
        *,
        totp_secret: str | None = None,
        must_change_password: bool = False,
    ) -> None:
        """Demo seeding and a tablet without a server only: the *first* record of an existing
        account, as the system (``installed``, with the user's own key made here). Trusted by
        this tablet only: the server and every other tablet refuse it (a facility's first
        admin comes from ``mar-server init``). Raises Conflict if the account already has
        credentials, NotFound if it does not exist, PasswordRejected."""
        user = self._read.user(user_id)
        if user is None:
            raise NotFound("No such account.")
        if self._credentials.latest(user_id) is not None:
            raise Conflict("This account already has credentials; use a reset instead.")
        self._policy().check(password, username=user.username, full_name=user.full_name)
        fields, key = issue.key_fields(user_id, password, self._hashing.params)
        record = build(
            {
                "user_id": user_id,
                "version": 1,
                "prev": ZERO_DIGEST,
                "username": user.username,
                "role": user.role,
                "unit_ids": user.unit_ids,
                "active": user.active,
                **fields,
                "must_change_password": must_change_password,
                "totp_secret": totp_secret,
                "totp_enrolled": totp_secret is not None,
                "change": "installed",
                "updated_at": self._clock.now(),
                "updated_by": SYSTEM,
                "updated_by_device": self._ledger.device_id,
            }
        ).signed(key)
        self._credentials.append(record)
        self._append(
            [
                audit.audit_draft(
                    audit.PASSWORD_RESET,
                    actor=SYSTEM_ACTOR,
                    user_name="system",
                    entity_type="user",
                    entity_id=user_id,
                    after={"totp_enrolled": totp_secret is not None},
                    detail="Initial credentials installed",
                )
            ]
        )

    # ---- internals ------------------------------------------------------------------------------
    def _policy(self) -> PasswordPolicy:
        facility = self._read.facility()
        minimum = facility.settings.password_min_length if facility else 12
        return PasswordPolicy(min_length=minimum)

    def _target(self, principal: Principal, user_id: str) -> User:
        self._require(principal, Permission.MANAGE_USERS, entity_type="user", entity_id=user_id)
        user = self._read.user(user_id)
        if user is None:
            raise NotFound("No such account.")
        return user

    def _record(self, user_id: str) -> AccountRecord | None:
        """The signed record in force; None for an unsigned earlier one (before signed
        statements). Raises NotFound when the account has no credentials at all."""
        record = self._credentials.latest(user_id)
        if record is None:
            raise NotFound("This account has no credentials yet.")
        return record if isinstance(record, AccountRecord) else None

    def _admin_key(self, principal: Principal) -> DeviceSigner:
        key = self._user_key(principal.user.user_id)
        if key is None:
            raise PermissionDenied(
                "Account changes are signed with your own key: sign in again on this device."
            )
        return key

    def _sign(
        self, principal: Principal, user_id: str, change: StatementChange, **fields: Any
    ) -> AccountRecord | None:
        """Stores the admin's signed ``change`` of a signed account record; None (nothing
        stored) for an account still on an unsigned earlier record."""
        key = self._admin_key(principal)
        record = self._record(user_id)
        if record is None:
            return None
        updated = record.revise(
            change=change,
            at=self._clock.now(),
            by=principal.user.user_id,
            device_id=self._ledger.device_id,
            **fields,
        ).signed(key)
        self._credentials.append(updated)
        return updated

    def _reset(
        self, principal: Principal, user: User, record: AccountRecord | None, temp: str
    ) -> None:
        key = self._admin_key(principal)
        fields = issue.temporary_fields(temp, self._hashing.params)
        if record is not None:
            updated = record.revise(
                change="password_reset",
                at=self._clock.now(),
                by=principal.user.user_id,
                device_id=self._ledger.device_id,
                **fields,
            )
        else:  # an unsigned earlier record: the reset sets the whole account afresh
            held = self._credentials.latest(user.user_id)
            if held is None:
                raise NotFound("This account has no credentials yet.")
            updated = issue.after_unsigned(
                held, user, "password_reset", fields, at=self._clock.now(),
                by=principal.user.user_id, device_id=self._ledger.device_id,
            )
        self._credentials.append(updated.signed(key))

    def _known_units(self, unit_ids: Sequence[str]) -> None:
        if tuple(unit_ids) == (ALL_UNITS,):
            return
        known = {unit.unit_id for unit in self._read.units()}
        if any(unit_id not in known for unit_id in unit_ids):
            raise ValidationError("Unknown unit in the assignment.")

    @staticmethod
    def _units_chosen(role: Role, unit_ids: Sequence[str]) -> None:
        """A role scoped by units gets a choice: named units, or "all units" explicitly. An
        empty assignment would mean no unit at all, which no one asks for by leaving boxes
        unticked."""
        if role not in ALL_UNIT_ROLES and not unit_ids:
            raise ValidationError("Choose the units this person works on, or 'All units'.")

    def _change(
        self, principal: Principal, user_id: str, fields: dict[str, object], reason: str, what: str
    ) -> User:
        before = self._target(principal, user_id)
        data = before.model_dump()
        data.update(fields)
        try:
            after = User.model_validate(data)
        except ValueError:
            raise ValidationError(f"{what}: the new values are not valid.") from None
        if "unit_ids" in fields:
            self._units_chosen(after.role, after.unit_ids)
        if after == before:
            raise ValidationError("Nothing would change.")
        authority = {"role": after.role, "unit_ids": after.unit_ids, "active": after.active}
        if authority != {"role": before.role, "unit_ids": before.unit_ids, "active": before.active}:
            self._sign(principal, user_id, "account_changed", **authority)
        self._record_change(
            principal, before, after, reason.strip() or what, audit.USER_CHANGED, before, after
        )
        return after

    def _record_change(
        self,
        principal: Principal,
        before: User,
        after: User,
        reason: str,
        action: str,
        before_audit: User | dict[str, object],
        after_audit: User | dict[str, object],
    ) -> None:
        body = kinds.UserChanged(before=before, after=after, reason=reason)
        self._append(
            [
                kinds.draft(kinds.USER_CHANGED, principal.actor, body),
                audit.audit_for(
                    principal,
                    action,
                    entity_type="user",
                    entity_id=after.user_id,
                    before=before_audit,
                    after=after_audit,
                    detail=reason,
                ),
            ]
        )
