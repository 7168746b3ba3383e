"""Turning SQLite failures into the project's StorageError subclasses
(docs/architecture.md#at-rest).

Pure functions and constants; any thread. Messages are for the nurse or the administrator
and never hold SQL text, data or paths. :mod:`storage.database` raises them while opening a
database; writers use :func:`translate` and :func:`storage_errors` on an open connection.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

import sqlcipher3

from mar_desktop.errors import DiskFull, NotADatabase, ReadOnlyStorage, StorageError

LOW_SPACE_BYTES = 64 * 1024
"""Less free space than this on the database's disk counts as a full disk."""

# SQLite primary result codes (extended codes carry these in the low byte).
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26

MSG_DISK_FULL = "The disk is full; the last action was not saved. Free some space and try again."
MSG_READ_ONLY = (
    "The database file or its folder is read-only; nothing can be saved. "
    "Ask your administrator to check the storage."
)
MSG_NOT_A_DB = (
    "This file is not an MAR Desktop database (or it is damaged). It was left untouched; "
    "contact your administrator."
)
MSG_DAMAGED = (
    "The MAR Desktop database is damaged and cannot be read safely. It was left untouched; "
    "contact your administrator."
)
MSG_WRONG_KEY = (
    "The key in this computer's key store does not open this database (or the database's "
    "first page is damaged). It was left untouched; contact your administrator."
)


def primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def code_from_message(exc: BaseException) -> int | None:
    """Fallback for sqlcipher3 builds whose exceptions lack ``sqlite_errorcode``."""
    text = str(exc).lower()
    for needle, code in (
        ("database or disk is full", SQLITE_FULL),
        ("readonly database", SQLITE_READONLY),
        ("file is not a database", SQLITE_NOTADB),
        ("disk image is malformed", SQLITE_CORRUPT),
        ("disk i/o error", SQLITE_IOERR),
        ("unable to open database", SQLITE_CANTOPEN),
        ("database is locked", SQLITE_BUSY),
    ):
        if needle in text:
            return code
    return None


def disk_is_full(folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < LOW_SPACE_BYTES


def translate(exc: BaseException, folder: Path | None = None) -> StorageError | None:
    """The :class:`StorageError` for a storage-level SQLite failure, else ``None``.

    ``None`` means the exception is not about the storage (e.g. a constraint or SQL error) and
    should propagate unchanged. The result's message never contains SQL text or data. With
    ``folder`` (the database's folder), an I/O error on a disk with no space left is
    ``DiskFull`` (SQLite reports a ``-shm`` it cannot grow as an I/O error).
    """
    if not isinstance(exc, sqlcipher3.Error):
        return None
    code = primary_code(exc)
    if code is None:
        code = code_from_message(exc)
    if code == SQLITE_FULL or (code == SQLITE_IOERR and disk_is_full(folder)):
        return DiskFull(MSG_DISK_FULL)
    if code in (SQLITE_READONLY, SQLITE_PERM):
        return ReadOnlyStorage(MSG_READ_ONLY)
    if code == SQLITE_NOTADB:
        return NotADatabase(MSG_NOT_A_DB)
    if code == SQLITE_CORRUPT:
        return NotADatabase(MSG_DAMAGED)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StorageError("The database is busy in another program. Try again in a moment.")
    if code == SQLITE_IOERR:
        return StorageError("The database could not be read or written (input/output error).")
    if code == SQLITE_CANTOPEN:
        return StorageError("The database file could not be opened.")
    return None


@contextlib.contextmanager
def storage_errors(folder: Path | None = None) -> Iterator[None]:
    """Re-raises storage-level SQLite failures inside the block as :class:`StorageError`.

    For writers on an open connection: ``with storage_errors(): conn.execute(...)``. A full disk
    becomes ``DiskFull``, a read-only file ``ReadOnlyStorage``, a damaged page
    ``NotADatabase``; other SQLite errors propagate unchanged.
    """
    try:
        yield
    except sqlcipher3.Error as exc:
        mapped = translate(exc, folder)
        if mapped is None:
            raise
        raise mapped from exc


def os_error(exc: OSError, default: StorageError) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(MSG_DISK_FULL)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ReadOnlyStorage(MSG_READ_ONLY)
    return default
