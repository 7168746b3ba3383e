"""TOTP: authenticator compatibility, ±1 step, single use per step, QR and manual key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from mar_desktop.people import totp
from mar_desktop.people.totp import TotpEnrolment, TotpOutcome, check_code, code_at, time_step

NOW = datetime(2026, 1, 5, 8, 0, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_codes_match_a_standard_authenticator() -> None:
    app = pyotp.TOTP(SECRET)  # SHA-1, 6 digits, 30 s: what Google Authenticator etc. do
    assert code_at(SECRET, NOW) == app.at(NOW)
    assert len(code_at(SECRET, NOW)) == 6


def test_new_secret_is_160_bits_base32() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert totp.new_secret() != secret


def test_current_code_accepted_and_step_returned() -> None:
    result = check_code(SECRET, code_at(SECRET, NOW), NOW, None)
    assert result.accepted
    assert result.step == time_step(NOW)


@pytest.mark.parametrize("offset", [-1, 1])
def test_one_step_either_side_accepted(offset: int) -> None:
    code = code_at(SECRET, NOW + timedelta(seconds=30 * offset))
    assert check_code(SECRET, code, NOW, None).outcome is TotpOutcome.ACCEPTED


@pytest.mark.parametrize("offset", [-2, 2, 5])
def test_two_or_more_steps_away_refused(offset: int) -> None:
    code = code_at(SECRET, NOW + timedelta(seconds=30 * offset))
    assert check_code(SECRET, code, NOW, None).outcome is TotpOutcome.WRONG


def test_replay_in_same_step_refused() -> None:
    code = code_at(SECRET, NOW)
    first = check_code(SECRET, code, NOW, None)
    assert first.accepted
    assert check_code(SECRET, code, NOW + timedelta(seconds=5), first.step).outcome is (
        TotpOutcome.REPLAYED
    )


def test_replay_of_earlier_step_after_later_one_refused() -> None:
    later = check_code(SECRET, code_at(SECRET, NOW), NOW, None)
    earlier_code = code_at(SECRET, NOW - timedelta(seconds=30))
    assert check_code(SECRET, earlier_code, NOW, later.step).outcome is TotpOutcome.REPLAYED


def test_next_step_accepted_after_use() -> None:
    first = check_code(SECRET, code_at(SECRET, NOW), NOW, None)
    nxt = NOW + timedelta(seconds=30)
    assert check_code(SECRET, code_at(SECRET, nxt), nxt, first.step).accepted


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes(code: str) -> None:
    assert check_code(SECRET, code, NOW, None).outcome is TotpOutcome.MALFORMED


def test_spaces_in_code_ignored() -> None:
    code = code_at(SECRET, NOW)
    assert check_code(SECRET, f"{code[:3]} {code[3:]}", NOW, None).accepted


def test_enrolment_material() -> None:
    enrolment = TotpEnrolment.create("jmorales", issuer="Maple Court")
    assert enrolment.uri.startswith("otpauth://totp/Maple%20Court:jmorales?secret=")
    assert f"secret={enrolment.secret}" in enrolment.uri
    assert enrolment.manual_key.replace(" ", "") == enrolment.secret
    assert enrolment.png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in enrolment.svg
    matrix = totp.qr_matrix(enrolment.uri)
    assert len(matrix) == len(matrix[0]) >= 21
    assert enrolment.secret not in repr(enrolment)
    assert "jmorales" in repr(enrolment)


def test_provisioning_uri_round_trips_through_pyotp() -> None:
    uri = totp.provisioning_uri(SECRET, "jmorales")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.at(NOW) == code_at(SECRET, NOW)
