"""NIST SP 800-63B password rules, with the reasons shown, and Argon2id hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type

from mar_desktop.errors import PasswordRejected
from mar_desktop.people.passwords import (
    DEFAULT_ARGON2,
    Argon2Parameters,
    PasswordHashing,
    PasswordPolicy,
    normalise,
)

FAST = Argon2Parameters(time_cost=1, memory_kib=64, parallelism=1)
POLICY = PasswordPolicy()
NAMES = {"username": "jmorales", "full_name": "Julia Morales"}


def reasons(password: str, policy: PasswordPolicy = POLICY) -> list[str]:
    with pytest.raises(PasswordRejected) as err:
        policy.check(password, **NAMES)
    return err.value.reasons


def test_short_password_refused_with_length_reason() -> None:
    assert reasons("Xq7#vL2p") == ["It must be at least 12 characters long."]


def test_facility_minimum_applies_but_never_below_eight() -> None:
    assert PasswordPolicy(min_length=16).problems("umbrella lantern x", **NAMES) == []
    assert "at least 16" in reasons("quartz mango 7", PasswordPolicy(min_length=16))[0]
    assert PasswordPolicy(min_length=4).effective_min_length == 8
    assert "at least 8" in reasons("Xq7#vL2", PasswordPolicy(min_length=4))[0]


@pytest.mark.parametrize(
    "common", ["password1234", "123456789012", "qwertyuiop123", "iloveyou2024"]
)
def test_common_passwords_refused_as_common(common: str) -> None:
    found = reasons(common)
    assert len(found) == 1
    assert "commonly used" in found[0] or "easy to guess" in found[0]


def test_common_password_reason_names_it_common() -> None:
    assert "commonly used password" in reasons("password1234")[0]


def test_password_containing_username_refused() -> None:
    assert "It must not contain your username." in reasons("xyz-JMorales-tulip-42")


def test_password_containing_name_refused() -> None:
    found = reasons("violet Morales harbour")
    assert "It must not contain your name." in found


def test_password_containing_full_name_refused() -> None:
    assert "It must not contain your name." in reasons("juliamorales!!river")


def test_guessable_repetition_refused() -> None:
    assert "easy to guess" in " ".join(reasons("abcabcabcabcabc"))


def test_sixty_four_and_more_characters_accepted() -> None:
    long_phrase = "the heron waits by the cold lake while seven lanterns drift east " * 2
    assert len(long_phrase) >= 128
    assert POLICY.check(long_phrase, **NAMES) == long_phrase
    assert POLICY.problems("y" * 13 + long_phrase[:51], **NAMES) == []  # 64 characters


def test_over_cap_refused() -> None:
    found = reasons("Q7v!" + "z" * 300)
    assert "It must be at most 256 characters long." in found


def test_spaces_and_unicode_accepted() -> None:
    assert POLICY.problems("Grüße aus Köln am Rhein", **NAMES) == []
    assert POLICY.problems("六月の雨が静かに降る夜です", **NAMES) == []


def test_control_characters_refused() -> None:
    assert any("control characters" in r for r in reasons("valid looking\npassphrase x"))


def test_nfkc_normalisation_before_length_and_hashing() -> None:
    composed = "Ångström violin ladder"
    decomposed = "A\u030angstro\u0308m violin ladder"
    assert composed != decomposed
    assert normalise(decomposed) == normalise(composed)
    hashing = PasswordHashing(FAST)
    assert hashing.verify(hashing.hash(composed), decomposed)
    # fullwidth letters fold to ASCII under NFKC
    assert normalise("ＡＢＣ") == "ABC"


def test_reasons_never_repeat_the_password() -> None:
    secret = "password1234"
    with pytest.raises(PasswordRejected) as err:
        POLICY.check(secret, **NAMES)
    assert secret not in str(err.value)
    assert all(secret not in r for r in err.value.reasons)


def test_default_parameters_are_rfc9106_second_option() -> None:
    assert (DEFAULT_ARGON2.time_cost, DEFAULT_ARGON2.memory_kib, DEFAULT_ARGON2.parallelism) == (
        3,
        65536,
        4,
    )
    assert "Argon2id t=3 m=64 MiB p=4" in DEFAULT_ARGON2.describe()


def test_hash_is_argon2id_with_the_default_parameters() -> None:
    encoded = PasswordHashing().hash("violet harbour lantern")
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    params = __import__("argon2").extract_parameters(encoded)
    assert params.type is Type.ID
    assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)
    assert params.hash_len == 32
    assert params.salt_len == 16


def test_verify_and_wrong_password() -> None:
    hashing = PasswordHashing(FAST)
    encoded = hashing.hash("violet harbour lantern")
    assert hashing.verify(encoded, "violet harbour lantern")
    assert not hashing.verify(encoded, "violet harbour lanterm")
    assert not hashing.verify("not a hash", "violet harbour lantern")


def test_salted_hashes_differ() -> None:
    hashing = PasswordHashing(FAST)
    assert hashing.hash("violet harbour lantern") != hashing.hash("violet harbour lantern")


def test_needs_rehash_when_parameters_change() -> None:
    weak = PasswordHashing(FAST).hash("violet harbour lantern")
    assert PasswordHashing().needs_rehash(weak)
    assert not PasswordHashing(FAST).needs_rehash(weak)
    argon2i = PasswordHasher(type=Type.I).hash("x")
    assert PasswordHashing().needs_rehash(argon2i)
