"""Ed25519 device keys: signing entries on the tablet, verifying them anywhere.

Both signing and verification use libsodium through PyNaCl: it signs in about 0.6x and
verifies in about 0.5x the time of OpenSSL here (a signature is made for every entry the
tablet records, so this is on the bedside path; verification is the cost of ``verify`` and of
every push the server takes in). ``cryptography`` (OpenSSL) generates keys, loads public keys
and converts key formats. Ed25519 signatures are deterministic (RFC 8032), so both libraries
give the same bytes for the same key and message (a test checks it); libsodium is the
stricter verifier (it also refuses non-canonical and small-order encodings), so every
signature it accepts OpenSSL accepts too.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError, CryptoError


class DeviceSigner:
    """Holds a device's private key in memory and signs canonical bytes. Thread-safe."""

    __slots__ = ("_key", "_secret", "public_hex")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_hex = public_key_hex(key.public_key())
        public, self._secret = crypto_sign_seed_keypair(self.private_bytes())
        if public.hex() != self.public_hex:  # both libraries must derive the same key pair
            raise ValueError("the Ed25519 key pair could not be derived consistently")

    @classmethod
    def generate(cls) -> DeviceSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> DeviceSigner:
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        """The raw 32-byte private key, for the encrypted key store only."""
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message`` (libsodium; same bytes as OpenSSL)."""
        return crypto_sign(message, self._secret)[:64]


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


class PublicKey:
    """A device's (or the server's) Ed25519 public key, for verifying. Immutable; picklable;
    safe on any thread or process."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        Ed25519PublicKey.from_public_bytes(raw)  # refuses what OpenSSL cannot load
        self.raw = raw

    @property
    def hex(self) -> str:
        return self.raw.hex()

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True if ``signature`` is this key's Ed25519 signature of ``message``."""
        if len(signature) != 64:
            return False
        try:
            crypto_sign_open(signature + message, self.raw)
        except (BadSignatureError, CryptoError, ValueError):
            return False
        return True


def load_public_key(public_hex: str) -> PublicKey:
    """Raises ``ValueError`` for anything that is not a 32-byte hex Ed25519 key."""
    return PublicKey(bytes.fromhex(public_hex))


def signature_valid(public: PublicKey, signature: bytes, message: bytes) -> bool:
    return public.verify(signature, message)
