"""Credential secrets at rest on the server: sealed fields, one data key, one wrapping key.

What is sealed: in every row of ``credentials``, the fields of the account record that let
someone sign in or mint codes — the password verifier (``password``; ``password_hash`` of the
older record shape), the wrapped user key (``wrapped_key``), the TOTP secret (``totp_secret``)
and the recovery code hashes (``recovery_codes``). Each is AES-256-GCM encrypted on its own with
the row's facility, user, version and the field's name as associated data, so a sealed value
moved to another row or field does not open. The stored text is ``sealed1:`` followed by the
record's JSON with those values replaced by ``nonce‖ciphertext`` (base64); the other fields
(username, role, units, signatures) stay readable for operators. A record that is not a JSON
object is sealed whole (field ``*``).

Keys: one random 32-byte **data key** seals every row. It is stored once, in ``server_secrets``,
wrapped (AES-256-GCM) by the **server secrets key**: the file ``MAR_SECRETS_KEY_FILE`` /
``--secrets-key-file`` (64 hex digits, mode 0600 — refused if group or others may read it; a
path a KMS agent provides works the same way), or, when none is configured, a key derived
(HKDF-SHA256) from the server signing key. Rotation (:func:`rotate`) rewraps the data key under
a new secrets key: one row changes, no credential row is rewritten. The server holds the data
key in memory only, opens sealed fields when it serves the credential feed and seals before it
stores. The keys themselves are never printed or logged; only their *key id* (a one-way
fingerprint) is.

Threads: any. Raises ``WrongKey`` (the secrets key does not open this database's data key),
``ValidationError`` (a malformed key file) or ``StorageError`` (a key file missing, unreadable
or too open; a sealed value that does not open).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mar_desktop.errors import StorageError, ValidationError, WrongKey
from mar_desktop.signing import DeviceSigner
from sync.server.migrations import SEALED_PREFIX

KEY_FILE_ENV = "MAR_SECRETS_KEY_FILE"
SECRET_FIELDS = ("password", "password_hash", "wrapped_key", "totp_secret", "recovery_codes")
"""Top-level fields of an account record (both shapes) that are sealed."""
_WHOLE = "*"
_WRAP_AAD = b"mar-server/secrets-data-key/v1"
_FIELD_AAD = b"mar-server/credential-field/v1\x00"
_NONCE = 12


def key_id(key: bytes) -> str:
    """A public fingerprint of a secrets key (16 hex digits); reveals nothing usable about it."""
    return hashlib.sha256(b"mar-secrets-key-id\x00" + key).hexdigest()[:16]


def derived_key(signer: DeviceSigner) -> bytes:
    """The secrets key used when no key file is configured: HKDF-SHA256 of the server signing
    key. Anyone holding the signing key file holds this key too (docs/server-operations.md)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"mar-server/secrets-kek/v1"
    ).derive(signer.private_bytes())


def load_key_file(path: str | Path) -> bytes:
    """The secrets key in ``path``. Raises ``StorageError`` (missing, unreadable, readable by
    group or others) or ``ValidationError`` (not 64 hex digits)."""
    p = Path(path)
    try:
        if p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise StorageError(f"{p} must be readable by its owner only (chmod 600)")
        text = p.read_text()
    except FileNotFoundError:
        raise StorageError(f"no server secrets key file at {p}") from None
    except OSError as exc:
        raise StorageError(f"cannot read the server secrets key file {p}") from exc
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValidationError(f"the server secrets key in {p} must be 64 hex digits (32 bytes)")
    return key


def configured_key(explicit: str | None = None) -> bytes | None:
    """The secrets key of ``--secrets-key-file`` (``explicit``), else of ``MAR_SECRETS_KEY_FILE``;
    None when neither is set (then :func:`derived_key` applies). Raises as
    :func:`load_key_file`."""
    path = explicit or os.environ.get(KEY_FILE_ENV)
    return load_key_file(path) if path else None


def generate_key_file(path: Path) -> bytes:
    """Writes a new random secrets key to ``path`` (0600 whatever the umask, never over an
    existing file) and returns it. Raises ``StorageError`` if the file exists."""
    key = secrets.token_bytes(32)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise StorageError(f"{path} already exists; not replaced") from None
    except OSError as exc:
        raise StorageError(f"cannot create the secrets key file {path}") from exc
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(key.hex() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return key


def wrap(kek: bytes, data_key: bytes) -> tuple[str, str]:
    """``(nonce_hex, wrapped_hex)``: ``data_key`` under ``kek``."""
    nonce = secrets.token_bytes(_NONCE)
    return nonce.hex(), AESGCM(kek).encrypt(nonce, data_key, _WRAP_AAD).hex()


def unwrap(kek: bytes, kek_id: str, nonce_hex: str, wrapped_hex: str) -> bytes:
    """The data key. Raises ``WrongKey`` naming both key ids (never a key) when ``kek`` is not
    the key that wrapped it, ``StorageError`` if the stored row is damaged."""
    if key_id(kek) != kek_id:
        raise WrongKey(
            f"wrong server secrets key: this database's secrets are wrapped with key id {kek_id}, "
            f"the key given has id {key_id(kek)} (set {KEY_FILE_ENV} to that key's file)"
        )
    try:
        return AESGCM(kek).decrypt(bytes.fromhex(nonce_hex), bytes.fromhex(wrapped_hex), _WRAP_AAD)
    except (InvalidTag, ValueError):
        raise StorageError("the stored data key of the server secrets is damaged") from None


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


class SecretBox:
    """Seals and opens the secret fields of stored account records with the data key."""

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(data_key)

    def __repr__(self) -> str:
        return "SecretBox(<data key>)"

    @staticmethod
    def _aad(facility_id: str, user_id: str, version: int, field: str) -> bytes:
        return _FIELD_AAD + "\x00".join((facility_id, user_id, str(version), field)).encode()

    def _seal_value(self, value: Any, aad: bytes) -> str:
        nonce = secrets.token_bytes(_NONCE)
        plain = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        return base64.b64encode(nonce + self._aead.encrypt(nonce, plain, aad)).decode("ascii")

    def _open_value(self, sealed: Any, aad: bytes) -> Any:
        try:
            raw = base64.b64decode(str(sealed), validate=True)
            return json.loads(self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], aad))
        except (InvalidTag, ValueError):
            raise StorageError("a sealed credential field does not open (damaged, moved)") from None

    def seal(self, facility_id: str, user_id: str, version: int, record_json: str) -> str:
        """The stored form of ``record_json`` (already sealed text is returned unchanged)."""
        if is_sealed(record_json):
            return record_json
        try:
            data = json.loads(record_json)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            whole = self._seal_value(record_json, self._aad(facility_id, user_id, version, _WHOLE))
            return SEALED_PREFIX + json.dumps({_WHOLE: whole})
        for field in SECRET_FIELDS:
            if data.get(field) not in (None, [], ()):
                aad = self._aad(facility_id, user_id, version, field)
                data[field] = {"sealed": self._seal_value(data[field], aad)}
        return SEALED_PREFIX + json.dumps(data, sort_keys=True, separators=(",", ":"))

    def open(self, facility_id: str, user_id: str, version: int, stored: str) -> str:
        """The record's JSON text as it was given to :meth:`seal` (same values; a record stored
        by the server is compact JSON with sorted keys, which this gives back). Plaintext
        (not yet sealed) text is returned as it is. Raises ``StorageError``."""
        if not is_sealed(stored):
            return stored
        try:
            data = json.loads(stored[len(SEALED_PREFIX) :])
        except ValueError:
            raise StorageError("a sealed credential record is damaged") from None
        if not isinstance(data, dict):
            raise StorageError("a sealed credential record is damaged")
        if set(data) == {_WHOLE}:
            aad = self._aad(facility_id, user_id, version, _WHOLE)
            return str(self._open_value(data[_WHOLE], aad))
        for field in SECRET_FIELDS:
            value = data.get(field)
            if isinstance(value, dict) and set(value) == {"sealed"}:
                aad = self._aad(facility_id, user_id, version, field)
                data[field] = self._open_value(value["sealed"], aad)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))


def new_data_key() -> bytes:
    return secrets.token_bytes(32)
