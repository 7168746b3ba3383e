"""The per-user public keys a person's account held, as the signed account records this device
holds state them: what a signature by a person's own key is checked against (an order
decision's :mod:`mar_desktop.clinical.decision_signature`). Reads the credential store; worker
thread."""

from __future__ import annotations

from collections.abc import Callable

from mar_desktop.people.ports import CredentialStore
from mar_desktop.people.statements import AccountRecord

HeldKeys = Callable[[str], frozenset[str]]
"""A user id → every user public key that account's records in force named (empty: none)."""


def held_keys(credentials: CredentialStore) -> HeldKeys:
    """For :class:`~mar_desktop.services.verification.VerificationService`: each key any
    version of the account record stated (a key replaced later was still the person's when
    they signed with it; a key no record names never counts)."""

    def keys_of(user_id: str) -> frozenset[str]:
        return frozenset(
            record.user_public
            for record in credentials.history(user_id)
            if isinstance(record, AccountRecord) and record.user_public is not None
        )

    return keys_of


__all__ = ["HeldKeys", "held_keys"]
