"""Helpers for tests that act as a facility admin without going through the sign-in screens:
the admin's own user key, opened from their account record with their password (what a sign-in
does), as the ``user_key`` source an :class:`~mar_desktop.people.accounts.AccountService`
signs with."""

from __future__ import annotations

from collections.abc import Callable

from mar_desktop.people import issue
from mar_desktop.people.ports import CredentialStore
from mar_desktop.people.statements import AccountRecord
from mar_desktop.signing import DeviceSigner


def open_key(creds: CredentialStore, user_id: str, password: str) -> DeviceSigner:
    """The user's key from their record in force (AssertionError if it does not open)."""
    record = creds.latest(user_id)
    assert isinstance(record, AccountRecord), "the account has no signed record"
    key = issue.open_key(record, password)
    assert key is not None, "wrong password or no key yet"
    return key


class Keys:
    """User keys by user id, filled as tests open them: ``Keys().get`` is a key source."""

    def __init__(self) -> None:
        self._keys: dict[str, DeviceSigner] = {}

    def open(self, creds: CredentialStore, user_id: str, password: str) -> DeviceSigner:
        key = open_key(creds, user_id, password)
        self._keys[user_id] = key
        return key

    def get(self, user_id: str) -> DeviceSigner | None:
        return self._keys.get(user_id)

    @property
    def source(self) -> Callable[[str], DeviceSigner | None]:
        return self.get
