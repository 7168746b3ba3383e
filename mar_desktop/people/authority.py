"""Who may make which account change: the one check the server and every tablet run before
storing an account record (docs/architecture.md#credentials).

:func:`check_next` decides whether ``new`` may follow ``prev`` (the version it names). It raises
:class:`~mar_desktop.errors.CredentialRefused` with a plain reason (never a value) when not:

* versions follow one another: ``new.version`` is one more than ``prev``'s (1 for a new
  account) and ``new.prev`` is ``prev``'s digest;
* an **admin change** (``created``, ``account_changed``, ``unlocked``, ``password_reset``,
  ``mfa_reset``) is signed by the user key of an active facility admin — as that admin's
  current record on the checking side says — and, wherever it travelled, co-signed by the
  server (:data:`Origin.SYNCED`); what the server makes itself (``updated_by = "system"``:
  the first admin of ``mar-server init``, the reset of ``mar-server reset-admin``) carries
  only the server's signature;
* a **self change** (password, authenticator, recovery codes) is signed by the account's own
  key in force; the first key after a creation or reset (``key_bound``) is signed by the new key
  and by the binding key that the creation or reset statement named for the temporary
  password, so exactly one binding follows each such statement;
* each change may touch only its own fields (a self change never moves role, units, active,
  username, keys or ``unlocked_at``);
* ``installed`` (a record a tablet made for itself without a server) is accepted only by that
  tablet (:data:`Origin.LOCAL`); ``legacy_rebound`` (the first signed version of an account
  carried over from an unsigned record) only when the server co-signed it after checking the
  old password (the server checks that proof itself, outside this function).

Pure; any thread.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from mar_desktop.errors import CredentialRefused
from mar_desktop.model import Role
from mar_desktop.people.credentials import CredentialRecord
from mar_desktop.people.statements import (
    ADMIN_CHANGES,
    SELF_CHANGES,
    SYSTEM,
    ZERO_DIGEST,
    AccountRecord,
    AnyRecord,
    legacy_digest,
)
from mar_desktop.signing import PublicKey


class Origin(StrEnum):
    LOCAL = "local"
    """This tablet's own services made it (an admin change waits for the co-signature)."""
    SERVER = "server"
    """The server checks what a tablet sent (it co-signs an admin change after this)."""
    SYNCED = "synced"
    """A tablet checks what it pulled: admin changes must carry the server's co-signature."""


SignerLookup = Callable[[str], AnyRecord | None]
"""The current record of a user (the signer of an admin change), on the checking side."""

_ACCOUNT = frozenset({"username", "role", "unit_ids", "active"})
_PASSWORD = frozenset({"password", "must_change_password"})
_KEYS = frozenset({"bind_public", "user_public", "wrapped_key"})
_MFA = frozenset({"totp_secret", "totp_enrolled", "recovery_codes"})
_META = frozenset(
    {
        "v",
        "version",
        "prev",
        "change",
        "updated_at",
        "updated_by",
        "updated_by_device",
        "sig",
        "bind_sig",
        "server_sig",
    }
)
_ALLOWED: dict[str, frozenset[str]] = {
    "account_changed": _ACCOUNT,
    "unlocked": frozenset({"unlocked_at"}),
    "password_reset": _PASSWORD | _KEYS,
    "mfa_reset": _MFA,
    "key_bound": _PASSWORD | _KEYS,
    "password_changed": frozenset({"password", "wrapped_key", "must_change_password"}),
    "password_rehashed": frozenset({"password", "wrapped_key"}),
    "totp_enrolled": _MFA,
    "recovery_codes_renewed": frozenset({"recovery_codes"}),
    "recovery_code_used": frozenset({"recovery_codes"}),
}


def refuse(reason: str) -> CredentialRefused:
    return CredentialRefused(f"account change refused: {reason}")


def expected_prev(prev: AnyRecord | None) -> tuple[int, str]:
    """``(version, digest)`` the version after ``prev`` must name."""
    if prev is None:
        return 1, ZERO_DIGEST
    if isinstance(prev, AccountRecord):
        return prev.version + 1, prev.digest()
    version = prev.version if isinstance(prev, CredentialRecord) else 1
    return version + 1, legacy_digest(prev.user_id, version, prev.password_hash)


def check_next(
    prev: AnyRecord | None,
    new: AccountRecord,
    *,
    origin: Origin,
    signers: SignerLookup,
    server_key: PublicKey | None,
) -> None:
    """Raises CredentialRefused unless ``new`` may follow ``prev`` (see the module docstring)."""
    if prev is not None and prev.user_id != new.user_id:
        raise refuse("the record names another account than the version before it")
    version, digest = expected_prev(prev)
    if new.version != version or new.prev != digest:
        raise refuse("the version does not follow the account's previous version")
    if new.change == "installed":
        _installed(prev, new, origin)
    elif new.change == "legacy_rebound":
        _legacy_rebound(prev, new, origin, server_key)
    elif new.change in ADMIN_CHANGES:
        _admin(prev, new, origin, signers, server_key)
    elif new.change in SELF_CHANGES:
        _self(prev, new)
    else:  # pragma: no cover - the model admits no other change
        raise refuse("unknown change")


# ---- the kinds of change -------------------------------------------------------------------------
def _installed(prev: AnyRecord | None, new: AccountRecord, origin: Origin) -> None:
    if origin is not Origin.LOCAL or prev is not None or new.updated_by != SYSTEM:
        raise refuse("a record installed on one tablet is trusted by that tablet only")


def _legacy_rebound(
    prev: AnyRecord | None, new: AccountRecord, origin: Origin, server: PublicKey | None
) -> None:
    if prev is None or isinstance(prev, AccountRecord) or new.updated_by != new.user_id:
        raise refuse("only an unsigned earlier record can be carried over, by its own user")
    _fresh_key(new)
    if not new.sig_valid(new.user_public):
        raise refuse("not signed by the account's new key")
    if origin is Origin.SYNCED and not new.server_sig_valid(server):
        raise refuse("a carried-over account needs the server's co-signature")


def _admin(
    prev: AnyRecord | None,
    new: AccountRecord,
    origin: Origin,
    signers: SignerLookup,
    server: PublicKey | None,
) -> None:
    if (new.change == "created") != (prev is None):
        raise refuse("an account is created once, as its first version")
    if new.updated_by == SYSTEM:
        # Only the server makes these (mar-server init); they travel with its signature alone.
        if origin is not Origin.SYNCED or new.change not in ("created", "password_reset"):
            raise refuse("only the server itself makes a system account record")
        if not new.server_sig_valid(server):
            raise refuse("not signed by the facility's server")
    else:
        admin = signers(new.updated_by)
        if (
            not isinstance(admin, AccountRecord)
            or not admin.active
            or admin.role is not Role.FACILITY_ADMIN
            or not new.sig_valid(admin.user_public)
        ):
            raise refuse("not signed by an active facility administrator's own key")
        if origin is Origin.SYNCED and not new.server_sig_valid(server):
            raise refuse("an administrator's change needs the server's co-signature")
        cosigned = new.server_sig is not None
        if origin is Origin.SERVER and cosigned and not new.server_sig_valid(server):
            raise refuse("the server's co-signature is not valid")
    if new.change in ("created", "password_reset"):
        _temporary(new)
        if new.change == "created":
            if new.totp_enrolled or new.totp_secret or new.recovery_codes or new.unlocked_at:
                raise refuse("a new account starts without authenticator or unlock")
            return
    if not isinstance(prev, AccountRecord):
        if new.change == "password_reset":
            return  # an unsigned earlier record: the reset sets the whole account afresh
        raise refuse("this account must first be carried over or reset by an administrator")
    # the server's own reset (mar-server reset-admin) also names who the admin is
    _only(prev, new, _ALLOWED[new.change] | (_ACCOUNT if new.updated_by == SYSTEM else set()))
    if new.change == "unlocked" and new.unlocked_at is None:
        raise refuse("an unlock names its time")
    if new.change == "mfa_reset" and (
        new.totp_secret is not None or new.totp_enrolled or new.recovery_codes
    ):
        raise refuse("an authenticator reset removes the secret and the recovery codes")


def _self(prev: AnyRecord | None, new: AccountRecord) -> None:
    if not isinstance(prev, AccountRecord) or new.updated_by != new.user_id:
        raise refuse("a self change is made by the account's own user")
    if not prev.active:
        raise refuse("the account is deactivated")
    _only(prev, new, _ALLOWED[new.change])
    if new.change == "key_bound":
        if prev.bind_public is None:
            raise refuse("no account creation or reset authorises a new key here")
        _fresh_key(new)
        if not new.bind_sig_valid(prev.bind_public):
            raise refuse("not proven with the temporary password")
        if not new.sig_valid(new.user_public):
            raise refuse("not signed by the account's new key")
        return
    if prev.user_public is None or not new.sig_valid(prev.user_public):
        raise refuse("not signed by the account's own key")
    if new.change == "password_changed" and new.must_change_password:
        raise refuse("a changed password is not temporary")
    if new.change == "totp_enrolled" and (not new.totp_enrolled or new.totp_secret is None):
        raise refuse("an enrolment sets the authenticator")
    if new.change == "recovery_code_used":
        _one_code_used(prev, new)


# ---- field rules ---------------------------------------------------------------------------------
def _temporary(new: AccountRecord) -> None:
    if (
        not new.must_change_password
        or new.bind_public is None
        or new.user_public is not None
        or new.wrapped_key is not None
    ):
        raise refuse("an account creation or reset sets a temporary password and no key")


def _fresh_key(new: AccountRecord) -> None:
    if (
        new.user_public is None
        or new.wrapped_key is None
        or new.bind_public is not None
        or new.must_change_password
    ):
        raise refuse("a key binding sets the user's key and a password of their own")


def _fields(record: AccountRecord) -> dict[str, Any]:
    return {k: v for k, v in record.model_dump(mode="json").items() if k not in _META}


def _only(prev: AccountRecord, new: AccountRecord, allowed: frozenset[str]) -> None:
    before, after = _fields(prev), _fields(new)
    changed = {k for k in after if before.get(k) != after[k]}
    if not changed <= allowed:
        raise refuse(f"a {new.change} change may not touch {', '.join(sorted(changed - allowed))}")


def _one_code_used(prev: AccountRecord, new: AccountRecord) -> None:
    old, now = prev.recovery_codes, new.recovery_codes
    if [s.code_hash for s in old] != [s.code_hash for s in now]:
        raise refuse("using a recovery code keeps the set")
    used = [i for i, (a, b) in enumerate(zip(old, now, strict=True)) if a != b]
    if len(used) != 1 or old[used[0]].used_at is not None or now[used[0]].used_at is None:
        raise refuse("using a recovery code marks exactly one unused code")
