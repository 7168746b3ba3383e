"""TOTP second factor (RFC 6238), verified offline against the locally stored secret.

Authenticator-app compatible: SHA-1, 6 digits, 30-second steps, 160-bit base32 secret. A code
is accepted for the current step and one step either side (clock tolerance), and only for a
step *later* than the last one accepted for that user, so a code — or any older code — is
accepted at most once (RFC 6238 §5.2). The caller stores the returned step in the credential
record. Secrets, codes and provisioning URIs (which embed the secret) are never logged nor put in
an exception message; :class:`TotpEnrolment` hides them from ``repr``. Pure and thread-safe.
"""

from __future__ import annotations

import hmac
import io
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import pyotp

if TYPE_CHECKING:
    import segno

DIGITS = 6
STEP_SECONDS = 30
TOLERANCE_STEPS = 1
SECRET_CHARS = 32  # base32 characters: 160 bits, the RFC 4226 recommended length
DEFAULT_ISSUER = "MAR Desktop"


def new_secret() -> str:
    """A fresh random base32 secret (160 bits from the OS CSPRNG)."""
    return pyotp.random_base32(SECRET_CHARS)


def time_step(moment: datetime) -> int:
    """The RFC 6238 counter for ``moment`` (aware)."""
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, moment: datetime) -> str:
    """The code an authenticator app shows at ``moment`` (tests, demo data)."""
    return _totp(secret).at(moment)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


class TotpOutcome(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    REPLAYED = "replayed"  # a valid code of a step already used: refused
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class TotpCheck:
    outcome: TotpOutcome
    step: int | None = None  # the accepted step; store it as the user's last_totp_step

    @property
    def accepted(self) -> bool:
        return self.outcome is TotpOutcome.ACCEPTED


def clean_code(code: str) -> str | None:
    """Digits of ``code`` with spaces removed, or None when it is not a 6-digit code."""
    digits = "".join(code.split())
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


def check_code(secret: str, code: str, now: datetime, last_step: int | None) -> TotpCheck:
    """Checks ``code`` against ``secret`` at ``now`` within ±1 step, refusing any step not later
    than ``last_step``. Compares in constant time for every candidate step."""
    digits = clean_code(code)
    if digits is None:
        return TotpCheck(TotpOutcome.MALFORMED)
    totp = _totp(secret)
    current = time_step(now)
    matched: int | None = None
    for step in range(current - TOLERANCE_STEPS, current + TOLERANCE_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), digits.encode()):
            matched = step if matched is None else max(matched, step)
    if matched is None:
        return TotpCheck(TotpOutcome.WRONG)
    if last_step is not None and matched <= last_step:
        return TotpCheck(TotpOutcome.REPLAYED)
    return TotpCheck(TotpOutcome.ACCEPTED, matched)


def provisioning_uri(secret: str, username: str, issuer: str = DEFAULT_ISSUER) -> str:
    """The ``otpauth://totp/...`` URI for the QR code. Contains the secret: never log it."""
    return _totp(secret).provisioning_uri(name=username, issuer_name=issuer)


def manual_key(secret: str) -> str:
    """The secret in groups of four for typing into an app (``ABCD EFGH …``)."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _qr(uri: str) -> segno.QRCode:
    """The segno QR code of ``uri`` (error correction M). segno is imported here, when a QR
    code is first drawn (TOTP enrolment), not when a code is verified at sign-in."""
    import segno

    return segno.make(uri, error="m", micro=False)


def qr_png(uri: str, *, scale: int = 6) -> bytes:
    """PNG bytes of the QR code of ``uri`` (error correction M, 4-module quiet zone)."""
    buffer = io.BytesIO()
    _qr(uri).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_svg(uri: str, *, scale: int = 6) -> bytes:
    """SVG bytes of the QR code of ``uri``."""
    buffer = io.BytesIO()
    _qr(uri).save(buffer, kind="svg", scale=scale, border=4)
    return buffer.getvalue()


def qr_matrix(uri: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (True = dark), without quiet zone, for drawing in the UI."""
    qr = _qr(uri)
    return tuple(tuple(bool(cell) for cell in row) for row in qr.matrix)


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What the enrolment screen shows. Everything but ``username`` reveals the secret."""

    username: str
    secret: str = field(repr=False)
    uri: str = field(repr=False)
    manual_key: str = field(repr=False)
    png: bytes = field(repr=False)
    svg: bytes = field(repr=False)

    @classmethod
    def create(
        cls, username: str, issuer: str = DEFAULT_ISSUER, secret: str | None = None
    ) -> TotpEnrolment:
        secret = secret or new_secret()
        uri = provisioning_uri(secret, username, issuer)
        return cls(
            username=username,
            secret=secret,
            uri=uri,
            manual_key=manual_key(secret),
            png=qr_png(uri),
            svg=qr_svg(uri),
        )
