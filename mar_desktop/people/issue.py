"""Making the statements that start an account or its key: what an admin's tablet, the server
(``mar-server init``) and the user's first sign-in build, unsigned (the caller signs).

Pure apart from fresh randomness (salts, keys); any thread. Raises ValidationError.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mar_desktop.errors import ValidationError
from mar_desktop.model import Role, User
from mar_desktop.people import userkeys
from mar_desktop.people.authority import expected_prev
from mar_desktop.people.passwords import Argon2Parameters
from mar_desktop.people.statements import (
    ZERO_DIGEST,
    AccountRecord,
    HeldRecord,
    StatementChange,
    build,
)
from mar_desktop.signing import DeviceSigner


def temporary_fields(temp: str, params: Argon2Parameters) -> dict[str, Any]:
    """The record fields of a temporary password: its verifier and the public half of its
    binding key (which authorises exactly one key binding), no user key."""
    verifier, derived = userkeys.new_verifier(temp, params)
    return {
        "password": verifier,
        "must_change_password": True,
        "bind_public": derived.binding_signer().public_hex,
        "user_public": None,
        "wrapped_key": None,
    }


def new_account(
    *,
    user_id: str,
    username: str,
    role: Role,
    unit_ids: tuple[str, ...] = (),
    active: bool = True,
    temp: str,
    params: Argon2Parameters,
    at: datetime,
    by: str,
    device_id: str,
) -> AccountRecord:
    """Version 1 (``created``) of an account with the temporary password ``temp``."""
    return build(
        {
            "user_id": user_id,
            "version": 1,
            "prev": ZERO_DIGEST,
            "username": username,
            "role": role,
            "unit_ids": unit_ids,
            "active": active,
            **temporary_fields(temp, params),
            "change": "created",
            "updated_at": at,
            "updated_by": by,
            "updated_by_device": device_id,
        }
    )


def key_fields(
    user_id: str, password: str, params: Argon2Parameters, key: DeviceSigner | None = None
) -> tuple[dict[str, Any], DeviceSigner]:
    """The fields of a password the user chose and their key (a new one unless given),
    wrapped under that password: one Argon2id run."""
    verifier, derived = userkeys.new_verifier(password, params)
    key = key or DeviceSigner.generate()
    fields = {
        "password": verifier,
        "must_change_password": False,
        "bind_public": None,
        "user_public": key.public_hex,
        "wrapped_key": userkeys.wrap(key, derived.wrap_key, user_id),
    }
    return fields, key


def bind_key(
    prev: AccountRecord,
    temp_keys: userkeys.Derived,
    password: str,
    params: Argon2Parameters,
    *,
    at: datetime,
    device_id: str,
) -> tuple[AccountRecord, DeviceSigner]:
    """The user's first key after a creation or reset (``key_bound``), signed by the new key
    and by the temporary password's binding key (``temp_keys`` from checking it)."""
    fields, key = key_fields(prev.user_id, password, params)
    record = prev.revise(
        change="key_bound", at=at, by=prev.user_id, device_id=device_id, **fields
    )
    return record.signed(key).bound(temp_keys.binding_signer()), key


def open_key(record: AccountRecord, password: str) -> DeviceSigner | None:
    """The user's own key from their record with their password (one Argon2id run), or None
    when the password does not match or the record holds no key yet."""
    if record.wrapped_key is None or record.user_public is None:
        return None
    derived = userkeys.check(record.password, password)
    if derived is None:
        return None
    return userkeys.unwrap(
        record.wrapped_key, derived.wrap_key, record.user_id, record.user_public
    )


def first_sign_in(
    created: AccountRecord,
    temp: str,
    password: str,
    totp_secret: str,
    params: Argon2Parameters,
    *,
    at: datetime,
    device_id: str,
) -> list[AccountRecord]:
    """What a user's first sign-in stores after an account creation (the key bound with the
    temporary password ``temp``, then the authenticator ``totp_secret`` enrolled), made at
    once: for seeding a demo facility or a test one. Raises ValidationError when ``temp``
    does not open ``created``."""
    temp_keys = userkeys.check(created.password, temp)
    if temp_keys is None:
        raise ValidationError("the temporary password does not match the account")
    bound, key = bind_key(created, temp_keys, password, params, at=at, device_id=device_id)
    enrolled = bound.revise(
        change="totp_enrolled",
        at=at,
        by=created.user_id,
        device_id=device_id,
        totp_secret=totp_secret,
        totp_enrolled=True,
    ).signed(key)
    return [bound, enrolled]


def after_unsigned(
    prev: HeldRecord,
    user: User,
    change: StatementChange,
    fields: dict[str, Any],
    *,
    at: datetime,
    by: str,
    device_id: str,
) -> AccountRecord:
    """The first signed version of an account held as an unsigned earlier record ``prev``: who
    the account is as ``user`` says (the signer vouches for it), with ``fields`` (a password and
    key, or a temporary password); no authenticator, so it is set up again."""
    version, digest = expected_prev(prev)
    return build(
        {
            "user_id": user.user_id,
            "version": version,
            "prev": digest,
            "username": user.username,
            "role": user.role,
            "unit_ids": user.unit_ids,
            "active": user.active,
            **fields,
            "change": change,
            "updated_at": at,
            "updated_by": by,
            "updated_by_device": device_id,
        }
    )
