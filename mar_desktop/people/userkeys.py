"""Per-user keys: one Argon2id run per password check, split into a verifier, a key-wrapping
key and a binding key (docs/architecture.md#credentials).

:func:`derive` runs Argon2id once over the normalised password and splits its 32-byte output
with HKDF-SHA256 into three independent keys:

* ``verifier`` — what the account record stores to check the password (constant-time compare);
* ``wrap_key`` — AES-256-GCM key that wraps the user's Ed25519 private key
  (:func:`wrap` / :func:`unwrap`); nobody who holds only the record can unwrap it without
  guessing the password;
* ``bind_seed`` — the seed of a one-off Ed25519 *binding key*. An admin's account-creation or
  reset statement carries the binding key's public half for the temporary password; the user's
  first statement after it is signed with the binding key, which proves knowledge of the
  temporary password to every device without any device being able to forge it from the
  verifier (HKDF outputs are independent).

Signing in costs exactly one Argon2id run, as before (the verifier and the wrapping key come out
of the same run). Pure: no I/O; thread-safe. Never logs or puts a secret in an exception.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from typing import Annotated, Literal

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from pydantic import Field, StrictInt

from mar_desktop.errors import AuthError
from mar_desktop.model import Frozen
from mar_desktop.people.passwords import DEFAULT_ARGON2, Argon2Parameters, normalise
from mar_desktop.signing import DeviceSigner

Hex = Annotated[str, Field(pattern=r"^[0-9a-f]+$", max_length=512)]
_SALT_LEN = 16
_NONCE_LEN = 12
_WRAP_DOMAIN = b"mar-desktop/user-key/v1"


class PasswordVerifier(Frozen):
    """What an account record stores about its password: Argon2id parameters, salt and the
    HKDF-derived verifier (not the Argon2 output itself, so it yields no other key)."""

    alg: Literal["argon2id+hkdf-sha256"] = "argon2id+hkdf-sha256"
    salt: Annotated[str, Field(pattern=r"^[0-9a-f]{32,128}$")]
    t: Annotated[StrictInt, Field(ge=1, le=64)]
    m: Annotated[StrictInt, Field(ge=8, le=4 * 1024 * 1024)]
    p: Annotated[StrictInt, Field(ge=1, le=64)]
    verifier: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", repr=False)]

    @property
    def params(self) -> Argon2Parameters:
        return Argon2Parameters(time_cost=self.t, memory_kib=self.m, parallelism=self.p)


class WrappedKey(Frozen):
    """A user's Ed25519 private key under AES-256-GCM with the password's wrapping key; the
    associated data binds it to the user and the public key."""

    nonce: Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")]
    ciphertext: Annotated[str, Field(pattern=r"^[0-9a-f]{96}$", repr=False)]


@dataclass(frozen=True, slots=True)
class Derived:
    """The three keys one Argon2id run gives. Held in memory only, never stored as such."""

    verifier: bytes = field(repr=False)
    wrap_key: bytes = field(repr=False)
    bind_seed: bytes = field(repr=False)

    def binding_signer(self) -> DeviceSigner:
        """The one-off binding key of a temporary password."""
        return DeviceSigner.from_private_bytes(self.bind_seed)


def _expand(material: bytes, label: bytes) -> bytes:
    return HKDFExpand(algorithm=hashes.SHA256(), length=32, info=b"mar-desktop/" + label).derive(
        material
    )


def derive(password: str, salt: bytes, params: Argon2Parameters) -> Derived:
    """One Argon2id run over the NFKC-normalised ``password``, split by HKDF-SHA256."""
    material = hash_secret_raw(
        normalise(password).encode("utf-8"),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )
    return Derived(
        verifier=_expand(material, b"verifier"),
        wrap_key=_expand(material, b"wrap"),
        bind_seed=_expand(material, b"bind"),
    )


def new_verifier(
    password: str, params: Argon2Parameters = DEFAULT_ARGON2
) -> tuple[PasswordVerifier, Derived]:
    """A fresh salt, the verifier of ``password`` and the keys of that same run."""
    salt = os.urandom(_SALT_LEN)
    derived = derive(password, salt, params)
    verifier = PasswordVerifier(
        salt=salt.hex(),
        t=params.time_cost,
        m=params.memory_kib,
        p=params.parallelism,
        verifier=derived.verifier.hex(),
    )
    return verifier, derived


def check(verifier: PasswordVerifier, password: str) -> Derived | None:
    """The derived keys when ``password`` matches ``verifier`` (constant-time), else None."""
    derived = derive(password, bytes.fromhex(verifier.salt), verifier.params)
    if hmac.compare_digest(derived.verifier, bytes.fromhex(verifier.verifier)):
        return derived
    return None


def _aad(user_id: str, public_hex: str) -> bytes:
    return b"\x00".join((_WRAP_DOMAIN, user_id.encode(), public_hex.encode()))


def wrap(key: DeviceSigner, wrap_key: bytes, user_id: str) -> WrappedKey:
    """``key``'s private half under ``wrap_key`` (AES-256-GCM, random nonce)."""
    nonce = os.urandom(_NONCE_LEN)
    sealed = AESGCM(wrap_key).encrypt(nonce, key.private_bytes(), _aad(user_id, key.public_hex))
    return WrappedKey(nonce=nonce.hex(), ciphertext=sealed.hex())


def unwrap(wrapped: WrappedKey, wrap_key: bytes, user_id: str, public_hex: str) -> DeviceSigner:
    """The user's key. Raises :class:`AuthError` when it does not open (wrong password, or the
    wrapped key does not belong to ``public_hex``)."""
    try:
        raw = AESGCM(wrap_key).decrypt(
            bytes.fromhex(wrapped.nonce),
            bytes.fromhex(wrapped.ciphertext),
            _aad(user_id, public_hex),
        )
        key = DeviceSigner.from_private_bytes(raw)
    except (InvalidTag, ValueError):
        raise AuthError("The account's key could not be opened.") from None
    if key.public_hex != public_hex:
        raise AuthError("The account's key could not be opened.")
    return key
