"""Credential records: the secrets of one account, versioned, never in the ledger
(docs/architecture.md#credentials).

A :class:`CredentialRecord` is immutable. Every change (password set, TOTP enrolled or reset,
a TOTP step or recovery code used) produces the *next version* through :meth:`revise`; stores
append versions and never rewrite one, so the history stays. Records live only in the encrypted
database (and, through sync, on the customer's server); their canonical JSON
(:meth:`to_canonical`) is what sync transfers. ``repr`` never shows a secret field.

Merging across tablets is by ``(version, updated_at, updated_by_device)`` — the highest wins
(:meth:`sort_key`); ``last_totp_step`` is additionally the maximum of both so a replay window
never reopens.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from mar_desktop.canonical import canonical_bytes, loads
from mar_desktop.errors import ValidationError
from mar_desktop.model import Frozen, Id, UtcDatetime

Change = Literal[
    "created",
    "password_changed",
    "password_reset",
    "password_rehashed",
    "totp_enrolled",
    "totp_used",  # made by older tablets at each sign-in; the step is device-local now
    "mfa_reset",
    "recovery_code_used",
    "recovery_codes_renewed",
]


class RecoverySlot(Frozen):
    """One recovery code: its hash and when it was used (None while unused)."""

    code_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", repr=False)]
    used_at: UtcDatetime | None = None


class CredentialRecord(Frozen):
    """Version ``version`` of one user's credentials."""

    v: Literal[1] = 1
    user_id: Id
    version: int = Field(ge=1)
    password_hash: str = Field(min_length=1, repr=False)
    must_change_password: bool = True
    totp_secret: str | None = Field(None, repr=False)
    totp_enrolled: bool = False
    last_totp_step: int | None = None
    recovery_codes: tuple[RecoverySlot, ...] = Field((), repr=False)
    change: Change = "created"
    updated_at: UtcDatetime
    updated_by: Id  # user id of whoever made the change (the user, an admin, "system")
    updated_by_device: Id

    @property
    def unused_recovery_hashes(self) -> list[str]:
        return [s.code_hash for s in self.recovery_codes if s.used_at is None]

    @property
    def recovery_codes_left(self) -> int:
        return len(self.unused_recovery_hashes)

    def revise(
        self, *, change: Change, at: datetime, by: str, device_id: str, **fields: Any
    ) -> CredentialRecord:
        """The next version with ``fields`` changed. Validates the result."""
        data = self.model_dump()
        data.update(fields)
        data.update(
            version=self.version + 1,
            change=change,
            updated_at=at,
            updated_by=by,
            updated_by_device=device_id,
        )
        try:
            return CredentialRecord.model_validate(data)
        except PydanticValidationError:
            raise ValidationError("The credential change is not valid.") from None

    def sort_key(self) -> tuple[int, str, str]:
        """Order of precedence between versions from different tablets (highest wins)."""
        return (self.version, self.updated_at.isoformat(), self.updated_by_device)

    def to_canonical(self) -> bytes:
        """Canonical JSON bytes (sorted keys, UTC times) for storage and sync."""
        return canonical_bytes(self.model_dump(mode="json"))

    @classmethod
    def from_canonical(cls, raw: bytes) -> CredentialRecord:
        """Parses :meth:`to_canonical` output. Raises :class:`ValidationError` (no secrets in
        the message) when the bytes are not a valid record."""
        try:
            return cls.model_validate(loads(raw))
        except (PydanticValidationError, ValueError, TypeError):
            raise ValidationError("A stored credential record is damaged.") from None
