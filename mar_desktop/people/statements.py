"""Account records, version 2: every credential change is a signed statement
(docs/architecture.md#credentials).

An :class:`AccountRecord` is one version of one account's authority and secrets: who the
account is (username, role, units, active), its password verifier, the user's Ed25519 public
key and the private half wrapped under the password (:mod:`mar_desktop.people.userkeys`), the
TOTP secret and recovery codes, and ``unlocked_at`` (an admin's unlock clears lockouts made
before it on every device). Each version names the digest of the one before (``prev``), so
versions follow one another, and carries the signatures that authorise it:

* ``sig`` — by the user key of ``updated_by``: the user themself for a self change, a facility
  admin for an admin change (see :mod:`mar_desktop.people.authority` for which is which);
* ``bind_sig`` — by the binding key of the temporary password, on the one statement that binds
  the user's first key after an account creation or reset;
* ``server_sig`` — the server's co-signature (its facility key), on every admin change and on
  what the server makes itself (``mar-server init``'s first admin).

Signatures are over :meth:`AccountRecord.content_bytes` (the canonical JSON of every other
field) with a domain per role, so a signature of one kind cannot pass as another. ``repr``
never shows a secret. Pure; any thread.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, StrictBool, StrictStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from mar_desktop.bounds import IdText, Version64
from mar_desktop.canonical import canonical_bytes, loads
from mar_desktop.errors import ValidationError
from mar_desktop.model import Frozen, Role, UtcDatetime
from mar_desktop.people.credentials import (
    MAX_RECOVERY_CODES,
    CredentialRecord,
    FirstAdminRecord,
    RecoverySlot,
    TotpSecret,
)
from mar_desktop.people.userkeys import PasswordVerifier, WrappedKey
from mar_desktop.signing import DeviceSigner, PublicKey, load_public_key

AdminChange = Literal["created", "account_changed", "unlocked", "password_reset", "mfa_reset"]
"""Changes only a facility admin may sign, co-signed by the server."""
SelfChange = Literal[
    "key_bound",
    "password_changed",
    "password_rehashed",
    "totp_enrolled",
    "recovery_code_used",
    "recovery_codes_renewed",
]
"""Changes only the account's own user may sign (verified by the server and every tablet)."""
RootChange = Literal["installed", "legacy_rebound"]
"""``installed``: a record made on one tablet without a server (demo, first run offline); it
is trusted by that tablet only and refused everywhere else. ``legacy_rebound``: the first
signed version of an account carried over from an unsigned (pre-statement) record, bound with
the old password checked by the server and co-signed by it."""
StatementChange = AdminChange | SelfChange | RootChange

ADMIN_CHANGES: frozenset[str] = frozenset(get_args(AdminChange))
SELF_CHANGES: frozenset[str] = frozenset(get_args(SelfChange))

Hex32 = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]
Hex64 = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{128}$", repr=False)]
Username = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9._-]+$")]
ZERO_DIGEST = "0" * 64
SYSTEM = "system"
"""``updated_by`` of what the server (``mar-server init``) or a tablet's installer makes."""

_CONTENT = b"mar-desktop/account-record/v2\x00"
_USER_SIG = b"mar-desktop/account-record/v2/user\x00"
_BIND_SIG = b"mar-desktop/account-record/v2/bind\x00"
_SERVER_SIG = b"mar-desktop/account-record/v2/server\x00"
_LEGACY = b"mar-desktop/account-record/v1-digest\x00"
_SIGNATURE_FIELDS = ("sig", "bind_sig", "server_sig")


class AccountRecord(Frozen):
    """Version ``version`` of one account (see the module docstring)."""

    v: Literal[2] = 2
    user_id: IdText
    version: Version64
    prev: Hex32
    username: Username
    role: Role
    unit_ids: Annotated[tuple[IdText, ...], Field(max_length=64)] = ()
    active: StrictBool = True
    password: PasswordVerifier
    must_change_password: StrictBool = True
    bind_public: Hex32 | None = None
    user_public: Hex32 | None = None
    wrapped_key: WrappedKey | None = None
    totp_secret: TotpSecret | None = Field(None, repr=False)
    totp_enrolled: StrictBool = False
    recovery_codes: Annotated[
        tuple[RecoverySlot, ...], Field(max_length=MAX_RECOVERY_CODES, repr=False)
    ] = ()
    unlocked_at: UtcDatetime | None = None
    change: StatementChange
    updated_at: UtcDatetime
    updated_by: IdText
    updated_by_device: IdText
    sig: Hex64 | None = None
    bind_sig: Hex64 | None = None
    server_sig: Hex64 | None = None

    # ---- forms --------------------------------------------------------------------------------
    def to_canonical(self) -> bytes:
        """Canonical JSON bytes of the whole record (signatures included)."""
        return canonical_bytes(self.model_dump(mode="json", exclude_none=False))

    def content_bytes(self) -> bytes:
        """What every signature covers: the canonical JSON of all fields but the signatures."""
        data = self.model_dump(mode="json")
        for name in _SIGNATURE_FIELDS:
            data.pop(name, None)
        return _CONTENT + canonical_bytes(data)

    def digest(self) -> str:
        """SHA-256 (hex) of :meth:`content_bytes`: what the next version's ``prev`` names. The
        same whether or not the server has co-signed yet."""
        return hashlib.sha256(self.content_bytes()).hexdigest()

    @property
    def unused_recovery_hashes(self) -> list[str]:
        return [s.code_hash for s in self.recovery_codes if s.used_at is None]

    @property
    def recovery_codes_left(self) -> int:
        return len(self.unused_recovery_hashes)

    # ---- making the next version --------------------------------------------------------------
    def revise(
        self,
        *,
        change: StatementChange,
        at: datetime,
        by: str,
        device_id: str,
        **fields: Any,
    ) -> AccountRecord:
        """The next version, unsigned, with ``fields`` changed. Raises ValidationError."""
        data = self.model_dump()
        for name in _SIGNATURE_FIELDS:
            data[name] = None
        data.update(fields)
        data.update(
            version=self.version + 1,
            prev=self.digest(),
            change=change,
            updated_at=at,
            updated_by=by,
            updated_by_device=device_id,
        )
        return build(data)

    # ---- signatures ---------------------------------------------------------------------------
    def signed(self, key: DeviceSigner) -> AccountRecord:
        """This record with ``sig`` by ``key`` (the signer's user key)."""
        return self.model_copy(update={"sig": key.sign(_USER_SIG + self.content_bytes()).hex()})

    def bound(self, binding: DeviceSigner) -> AccountRecord:
        """This record with ``bind_sig`` by the temporary password's binding key."""
        sig = binding.sign(_BIND_SIG + self.content_bytes()).hex()
        return self.model_copy(update={"bind_sig": sig})

    def cosigned(self, server: DeviceSigner) -> AccountRecord:
        """This record with the server's co-signature (``server_sig``)."""
        sig = server.sign(_SERVER_SIG + self.content_bytes()).hex()
        return self.model_copy(update={"server_sig": sig})

    def sig_valid(self, public_hex: str | None) -> bool:
        return _valid(public_hex, self.sig, _USER_SIG + self.content_bytes())

    def bind_sig_valid(self, public_hex: str | None) -> bool:
        return _valid(public_hex, self.bind_sig, _BIND_SIG + self.content_bytes())

    def server_sig_valid(self, server: PublicKey | None) -> bool:
        if server is None or self.server_sig is None:
            return False
        return server.verify(bytes.fromhex(self.server_sig), _SERVER_SIG + self.content_bytes())

    @classmethod
    def from_canonical(cls, raw: bytes | str) -> AccountRecord:
        """Parses :meth:`to_canonical` output. Raises ValidationError (no secret in it)."""
        try:
            return cls.model_validate(loads(raw))
        except (PydanticValidationError, ValueError, TypeError):
            raise ValidationError("A stored account record is damaged.") from None


def build(data: dict[str, Any]) -> AccountRecord:
    """Validates ``data`` as an AccountRecord. Raises ValidationError naming no value."""
    try:
        return AccountRecord.model_validate(data)
    except PydanticValidationError:
        raise ValidationError("The account change is not valid.") from None


def _valid(public_hex: str | None, sig: str | None, message: bytes) -> bool:
    if public_hex is None or sig is None:
        return False
    try:
        key = load_public_key(public_hex)
    except ValueError:
        return False
    return key.verify(bytes.fromhex(sig), message)


def legacy_digest(user_id: str, version: int, password_hash: str) -> str:
    """What a version-2 record's ``prev`` names when the version before it is an unsigned
    (pre-statement) record: the same on the server, whichever shape it stored, and on tablets."""
    text = f"{user_id}\x00{version}\x00{password_hash}".encode()
    return hashlib.sha256(_LEGACY + text).hexdigest()


AnyRecord = AccountRecord | CredentialRecord | FirstAdminRecord
"""Every shape a stored account record may have: version 2 (signed statements) and the unsigned
shapes stored before it (tablets' version-1 records, ``mar-server init``'s first admin)."""

HeldRecord = AccountRecord | CredentialRecord
"""What a tablet holds: signed records and, from before them, unsigned version-1 records (the
server's first-admin shape is converted to version 1 when a tablet takes it)."""

_ANY: TypeAdapter[AnyRecord] = TypeAdapter(AnyRecord)


def parse_record(text: str | bytes) -> AnyRecord:
    """Validates a stored record's JSON against every known shape. Raises ValidationError
    naming where the first problem is and its kind, never a value."""
    try:
        return _ANY.validate_json(text)
    except PydanticValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        first = errors[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "record"
        raise ValidationError(
            f"credential record not valid: {where}: {first.get('type', 'invalid')}"
        ) from None


def record_version(record: AnyRecord) -> int:
    return 1 if isinstance(record, FirstAdminRecord) else record.version
