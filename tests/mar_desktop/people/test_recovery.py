"""Recovery codes: ten, high-entropy, typable, hashed per user."""

from __future__ import annotations

import re

from mar_desktop.people import recovery


def test_ten_distinct_well_formed_codes() -> None:
    codes = recovery.generate()
    assert len(codes) == 10 == len(set(codes))
    pattern = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
    assert all(pattern.match(c) for c in codes)
    assert not any(ch in "".join(codes) for ch in "ILOU")


def test_typing_is_forgiving() -> None:
    code = "0A1B-2C3D-4E5F-6G7H"
    stored = [recovery.hash_code("u1", code)]
    assert recovery.match("u1", "oa1b 2c3d 4e5f 6g7h", stored) == 0
    assert recovery.match("u1", "0AIB2C3D4E5F6G7H", stored) == 0  # I read as 1


def test_hash_binds_user() -> None:
    code = recovery.generate(1)[0]
    assert recovery.hash_code("u1", code) != recovery.hash_code("u2", code)
    assert recovery.match("u2", code, [recovery.hash_code("u1", code)]) is None


def test_no_match_for_wrong_or_malformed() -> None:
    codes = recovery.generate()
    stored = [recovery.hash_code("u1", c) for c in codes]
    assert recovery.match("u1", "ZZZZ-ZZZZ-ZZZZ-ZZZZ", stored) is None
    assert recovery.match("u1", "short", stored) is None
    assert recovery.match("u1", codes[3], stored) == 3
