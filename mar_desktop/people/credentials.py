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

This module is the one definition of what a credential record may hold, on a tablet and on the
wire: :class:`CredentialRecord` (what tablets make) and :class:`FirstAdminRecord` (what
``mar-server init`` makes for the first admin). Both are closed: unknown fields, values of
another JSON type (no coercion), integers beyond 64 bits, strings over their bound or holding
control characters, and more than :data:`MAX_RECOVERY_CODES` recovery codes are refused, so a
record is at most a few kilobytes and three levels deep.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from mar_desktop.bounds import PRINTABLE_ASCII, Count64, IdText, Version64
from mar_desktop.canonical import canonical_bytes, loads
from mar_desktop.errors import ValidationError
from mar_desktop.model import Frozen, UtcDatetime

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


MAX_RECOVERY_CODES = 64
"""Most recovery-code slots a record may hold (a set is 10 codes)."""

PasswordHash = Annotated[
    StrictStr, Field(min_length=1, max_length=512, pattern=PRINTABLE_ASCII, repr=False)
]
"""A PHC-format password hash (``$argon2id$v=19$...``, about 100 characters)."""
TotpSecret = Annotated[StrictStr, Field(min_length=1, max_length=256, pattern=PRINTABLE_ASCII)]
"""A base32 TOTP secret."""


class RecoverySlot(Frozen):
    """One recovery code: its hash and when it was used (None while unused)."""

    code_hash: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$", repr=False)]
    used_at: UtcDatetime | None = None


class CredentialRecord(Frozen):
    """Version ``version`` of one user's credentials."""

    v: Literal[1] = 1
    user_id: IdText
    version: Version64
    password_hash: PasswordHash
    must_change_password: StrictBool = True
    totp_secret: TotpSecret | None = Field(None, repr=False)
    totp_enrolled: StrictBool = False
    last_totp_step: Count64 | None = None
    recovery_codes: Annotated[
        tuple[RecoverySlot, ...], Field(max_length=MAX_RECOVERY_CODES, repr=False)
    ] = ()
    change: Change = "created"
    updated_at: UtcDatetime
    updated_by: IdText  # user id of whoever made the change (the user, an admin, "system")
    updated_by_device: IdText

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


class FirstAdminRecord(Frozen):
    """Version 1 of the first facility admin's credentials, as ``mar-server init`` makes them:
    an Argon2id hash of a temporary password that must be changed, no authenticator yet.
    Only the server makes this shape; tablets turn it into a :class:`CredentialRecord`."""

    user_id: IdText
    username: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9._-]+$")]
    password_hash: PasswordHash
    password_algorithm: Literal["argon2id"] = "argon2id"  # noqa: S105 - an algorithm name
    must_change_password: StrictBool = True
    totp: None = None
    created_at: UtcDatetime


AnyCredentialRecord = CredentialRecord | FirstAdminRecord
"""Every shape a stored credential record may have."""

_ANY_RECORD: TypeAdapter[AnyCredentialRecord] = TypeAdapter(AnyCredentialRecord)


def parse_stored_record(text: str | bytes) -> AnyCredentialRecord:
    """Validates a record's JSON text against every known shape.

    Raises :class:`ValidationError` whose message names where the first problem is and what
    kind it is, never a value (records hold secrets)."""
    try:
        return _ANY_RECORD.validate_json(text)
    except PydanticValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "record"
        raise ValidationError(
            f"credential record not valid: {where}: {first.get('type', 'invalid')}"
        ) from None
