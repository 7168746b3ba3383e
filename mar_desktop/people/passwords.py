"""Password policy (NIST SP 800-63B) and Argon2id hashing
(docs/architecture.md#people-and-sessions).

Policy, in the order it is checked:

* the password is NFKC-normalised first; length is counted in code points after that;
* at least ``min_length`` (facility setting, default 12, never below 8) and at most
  :data:`MAX_LENGTH` (256) — so 64 and more are always accepted;
* spaces and any printable Unicode are allowed; no composition rules; only control characters
  (line breaks, tabs, NUL…) are refused because they cannot be typed reliably at a login box;
* refused when it contains the username or the person's full name (or a name part of four or
  more letters), and when zxcvbn — whose dictionaries hold the commonly used and breached
  passwords lists, English words, names and keyboard patterns — rates it below
  :data:`MIN_SCORE` given the person's own names as context.

Every refusal raises :class:`~mar_desktop.errors.PasswordRejected` whose ``reasons`` are plain
sentences for the screen; they never repeat the password.

zxcvbn (~13 MB of dictionaries once loaded) is imported by the first strength check, not with
this module: signing in and unlocking only verify hashes.

Hashing is Argon2id with RFC 9106's second recommended option (t=3, m=64 MiB, p=4, 16-byte salt,
32-byte tag); :data:`DEFAULT_ARGON2` records it for benchmarks. Pure: no I/O, thread-safe.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mar_desktop.errors import PasswordRejected

ABSOLUTE_MIN_LENGTH = 8
DEFAULT_MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_SCORE = 3
# zxcvbn's matching is super-linear in length; a longer password is judged on this prefix
# (a weak prefix is still refused; a long strong passphrase is not slowed down).
_ZXCVBN_PREFIX = 72
_NAME_PART_MIN = 4


def normalise(password: str) -> str:
    """NFKC form of ``password``: what is checked, hashed and verified (NIST 800-63B 5.1.1.2)."""
    return unicodedata.normalize("NFKC", password)


def _folded(text: str) -> str:
    return normalise(text).casefold()


def _personal_words(username: str, full_name: str) -> list[str]:
    words = [username, full_name, full_name.replace(" ", "")]
    words += [part for part in full_name.replace("-", " ").split() if len(part) >= _NAME_PART_MIN]
    return [w for w in words if w.strip()]


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """The facility's password rules. ``min_length`` is raised to 8 if set lower."""

    min_length: int = DEFAULT_MIN_LENGTH
    max_length: int = MAX_LENGTH
    min_score: int = MIN_SCORE

    @property
    def effective_min_length(self) -> int:
        return max(self.min_length, ABSOLUTE_MIN_LENGTH)

    def problems(
        self,
        password: str,
        *,
        username: str = "",
        full_name: str = "",
        extra_words: Iterable[str] = (),
    ) -> list[str]:
        """Reasons (plain sentences) why ``password`` is refused; empty when it is accepted."""
        text = normalise(password)
        reasons: list[str] = []
        if len(text) < self.effective_min_length:
            reasons.append(f"It must be at least {self.effective_min_length} characters long.")
        if len(text) > self.max_length:
            reasons.append(f"It must be at most {self.max_length} characters long.")
        if any(unicodedata.category(ch) == "Cc" for ch in text):
            reasons.append("It contains control characters such as line breaks or tabs.")
        folded = text.casefold()
        if username and _folded(username) in folded:
            reasons.append("It must not contain your username.")
        name_parts = _personal_words("", full_name)
        if any(_folded(part) in folded for part in name_parts):
            reasons.append("It must not contain your name.")
        if reasons or not text:
            return reasons or [f"It must be at least {self.effective_min_length} characters long."]
        context = [*_personal_words(username, full_name), *extra_words]
        from zxcvbn import zxcvbn  # ~13 MB of dictionaries: loaded when a password is set

        result = zxcvbn(text[:_ZXCVBN_PREFIX], user_inputs=context)
        if int(result["score"]) < self.min_score:
            reasons.append(_guessable_reason(result))
        return reasons

    def check(
        self,
        password: str,
        *,
        username: str = "",
        full_name: str = "",
        extra_words: Iterable[str] = (),
    ) -> str:
        """Returns the normalised password, or raises :class:`PasswordRejected` with reasons."""
        reasons = self.problems(
            password, username=username, full_name=full_name, extra_words=extra_words
        )
        if reasons:
            raise PasswordRejected(reasons)
        return normalise(password)


def _guessable_reason(result: dict[str, object]) -> str:
    feedback = result.get("feedback")
    warning = ""
    suggestions: list[str] = []
    if isinstance(feedback, dict):
        warning = str(feedback.get("warning") or "")
        suggestions = [str(s) for s in feedback.get("suggestions") or []]
    sequence = result.get("sequence")
    common = isinstance(sequence, list) and any(
        isinstance(m, dict) and m.get("dictionary_name") == "passwords" for m in sequence
    )
    if common or "common" in warning.lower():
        head = "It is a commonly used password, or too close to one."
    else:
        head = "It is too easy to guess."
    hint = warning or (suggestions[0] if suggestions else "")
    hint = hint or "Use a longer phrase of several uncommon words."
    return f"{head} {hint}".strip()


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """Argon2id cost parameters. ``memory_kib`` is in KiB (65536 = 64 MiB)."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4
    hash_len: int = 32
    salt_len: int = 16

    def describe(self) -> str:
        return (
            f"Argon2id t={self.time_cost} m={self.memory_kib // 1024} MiB "
            f"p={self.parallelism} tag={self.hash_len} B salt={self.salt_len} B"
        )


DEFAULT_ARGON2 = Argon2Parameters()
"""RFC 9106 §4 second recommended option (also argon2-cffi's ``RFC_9106_LOW_MEMORY``)."""


class PasswordHashing:
    """Argon2id hashing and verification of *normalised* passwords. Thread-safe."""

    def __init__(self, params: Argon2Parameters = DEFAULT_ARGON2) -> None:
        self.params = params
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=params.hash_len,
            salt_len=params.salt_len,
            type=Type.ID,
        )
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        """PHC string ``$argon2id$v=19$m=…,t=…,p=…$salt$tag`` of the normalised password."""
        return self._hasher.hash(normalise(password))

    def verify(self, encoded: str, password: str) -> bool:
        """True when ``password`` (normalised) matches ``encoded``; False otherwise, never raises
        on a mismatch or a malformed hash."""
        try:
            return self._hasher.verify(encoded, normalise(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """True when ``encoded`` was made with other parameters (rehash after a good login)."""
        try:
            return self._hasher.check_needs_rehash(encoded)
        except (InvalidHashError, ValueError):
            return True

    def dummy_verify(self) -> None:
        """Spends the time of one verification, so an unknown username is not told apart by
        timing."""
        self.verify(self._dummy_hash(), "not the password of anyone")

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash("dummy password for timing equalisation")
        return self._dummy
