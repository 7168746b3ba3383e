"""Ed25519 device keys: signing entries on the tablet, verifying them anywhere.

Signing uses ``cryptography`` (OpenSSL); verification uses libsodium through PyNaCl, which
checks Ed25519 signatures about twice as fast here (verification is the cost of ``verify``
and of every push the server takes in). Both implement RFC 8032; libsodium is the stricter
of the two (it also refuses non-canonical and small-order encodings), so every signature it
accepts OpenSSL accepts too.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError


class DeviceSigner:
    """Holds a device's private key in memory and signs canonical bytes. Thread-safe."""

    __slots__ = ("_key", "public_hex")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_hex = public_key_hex(key.public_key())

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
        return self._key.sign(message)


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
