"""The encrypted backup file format and the backup key.

Key: 32 random bytes, kept as 64 hex digits in a file (``MAR_BACKUP_KEY_FILE`` or
``--key-file``; mode 0600, refused if group or others may read it) or, second choice, in
``MAR_BACKUP_KEY`` itself. ``mar-server backup keygen --out FILE`` makes one. Losing the key
loses every backup made with it: keep a copy offline (see docs/server-operations.md). The key is
never printed or logged; only its *key id* (a one-way fingerprint) is, so a wrong key can be
named without revealing either.

File (``*.marbak``): ``MARBAK1\\n``, a 4-byte big-endian header length, the header (JSON:
format, cipher, chunk size, 7-byte nonce prefix, key id), then chunks. Each chunk is
``len(4 bytes) || AES-256-GCM(plaintext ≤ 1 MiB)`` with nonce = prefix ‖ chunk counter (4 bytes)
‖ last-chunk flag (1 byte) and the whole header as associated data (the STREAM construction):
reordering, truncation, appending or changing one byte anywhere fails authentication.
Decryption releases a chunk only after its tag verified; callers that must not act on a prefix
(restore) decrypt to a private temporary file and use it only after the last chunk verified.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import struct
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mar_desktop.errors import IntegrityError, StorageError, ValidationError, WrongKey
from mar_desktop.private_files import private_dir

MAGIC = b"MARBAK1\n"
CHUNK = 1 << 20
KEY_ENV = "MAR_BACKUP_KEY"
KEY_FILE_ENV = "MAR_BACKUP_KEY_FILE"
_TAG = 16


class Sink(Protocol):
    """Anything with ``write(bytes)`` (a file, or a splitter)."""

    def write(self, data: bytes, /) -> object: ...


def key_id(key: bytes) -> str:
    """A public fingerprint of the key (16 hex digits); reveals nothing usable about it."""
    return hashlib.sha256(b"mar-backup-key-id\x00" + key).hexdigest()[:16]


def _parse_key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValidationError(f"the backup key in {where} must be 64 hex digits (32 bytes)")
    return key


def load_key(key_file: str | Path | None = None) -> bytes:
    """The backup key: ``key_file``, else ``MAR_BACKUP_KEY_FILE``, else ``MAR_BACKUP_KEY``.
    Raises ``ValidationError`` (none given / malformed) or ``StorageError`` (unreadable, too open).
    """
    path = key_file or os.environ.get(KEY_FILE_ENV)
    if path:
        p = Path(path)
        try:
            if p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise StorageError(f"{p} must be readable by its owner only (chmod 600)")
            return _parse_key(p.read_text(), str(p))
        except FileNotFoundError:
            raise ValidationError(f"no backup key file at {p}") from None
        except OSError as exc:
            raise StorageError(f"cannot read the backup key file {p}") from exc
    text = os.environ.get(KEY_ENV)
    if text:
        return _parse_key(text, KEY_ENV)
    raise ValidationError(
        f"no backup key: give --key-file, or set {KEY_FILE_ENV} (or {KEY_ENV}) in the env file"
    )


def generate_key_file(path: Path) -> str:
    """Writes a new random key (0600, never over an existing file); returns its key id."""
    key = secrets.token_bytes(32)
    if not path.parent.exists():
        private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StorageError(f"{path} already exists; not replaced") from None
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return key_id(key)


def manifest_mac(key: bytes, fields: dict[str, Any]) -> str:
    """HMAC-SHA256 over the canonical JSON of a manifest, with a key derived from the backup
    key (so the manifest cannot be edited to match a swapped or altered backup file)."""
    mac_key = hmac.new(key, b"mar-backup-manifest-v1", hashlib.sha256).digest()
    body = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(mac_key, body, hashlib.sha256).hexdigest()


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """Streams plaintext into an encrypted backup file (``write`` then ``finish`` once)."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        self._out = out
        self._aead = AESGCM(key)
        self._prefix = secrets.token_bytes(7)
        header = json.dumps(
            {
                "format": 1,
                "cipher": "AES-256-GCM/STREAM",
                "chunk": CHUNK,
                "nonce_prefix": self._prefix.hex(),
                "key_id": key_id(key),
            },
            sort_keys=True,
        ).encode()
        self._aad = MAGIC + struct.pack(">I", len(header)) + header
        out.write(self._aad)
        self._buf = bytearray()
        self._counter = 0

    def write(self, data: bytes) -> None:
        self._buf += data
        while len(self._buf) > CHUNK:  # keep at least one byte back for the last chunk
            self._emit(bytes(self._buf[:CHUNK]), last=False)
            del self._buf[:CHUNK]

    def _emit(self, plain: bytes, *, last: bool) -> None:
        if self._counter >= 2**32 - 1:
            raise StorageError("backup too large for one file")
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), plain, self._aad)
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._counter += 1

    def finish(self) -> None:
        self._emit(bytes(self._buf), last=True)
        self._buf.clear()


def _read_exact(inp: BinaryIO, n: int) -> bytes:
    data = inp.read(n)
    if len(data) != n:
        raise IntegrityError("the backup file is truncated")
    return data


def read_header(inp: BinaryIO) -> tuple[dict[str, Any], bytes]:
    """The header and the associated-data bytes. Raises ``IntegrityError`` if not a backup."""
    if inp.read(len(MAGIC)) != MAGIC:
        raise IntegrityError("not an MAR server backup file (bad magic)")
    (size,) = struct.unpack(">I", _read_exact(inp, 4))
    if size > 4096:
        raise IntegrityError("the backup file header is damaged")
    raw = _read_exact(inp, size)
    try:
        header = json.loads(raw)
        bytes.fromhex(header["nonce_prefix"])
        str(header["key_id"])
    except (ValueError, KeyError, TypeError):
        raise IntegrityError("the backup file header is damaged") from None
    return header, MAGIC + struct.pack(">I", size) + raw


def check_key(header: dict[str, Any], key: bytes) -> None:
    """Raises ``WrongKey`` naming both key ids when ``key`` did not make this backup."""
    if header.get("key_id") != key_id(key):
        raise WrongKey(
            f"wrong backup key: this backup was encrypted with key id {header.get('key_id')}, "
            f"the key given has id {key_id(key)}"
        )


def decrypt_stream(inp: BinaryIO, key: bytes, out: Sink) -> dict[str, Any]:
    """Decrypts a whole backup into ``out``; returns the header. Raises ``WrongKey`` or
    ``IntegrityError`` (altered, truncated or extended file); ``out`` then holds a prefix that
    must be discarded."""
    header, aad = read_header(inp)
    check_key(header, key)
    aead = AESGCM(key)
    prefix = bytes.fromhex(header["nonce_prefix"])
    counter = 0
    while True:
        size_bytes = inp.read(4)
        if len(size_bytes) < 4:
            raise IntegrityError("the backup file is truncated (no final chunk)")
        (size,) = struct.unpack(">I", size_bytes)
        if size < _TAG or size > CHUNK + _TAG:
            raise IntegrityError(f"the backup file is damaged (chunk {counter})")
        sealed = _read_exact(inp, size)
        for last in (False, True):
            try:
                plain = aead.decrypt(_nonce(prefix, counter, last), sealed, aad)
            except InvalidTag:
                continue
            break
        else:
            raise IntegrityError(f"the backup file was altered or is damaged (chunk {counter})")
        out.write(plain)
        counter += 1
        if last:
            if inp.read(1):
                raise IntegrityError("the backup file has data after its final chunk")
            return header
