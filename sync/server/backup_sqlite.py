"""SQLite side of backups: an online snapshot with the backup API, and restore into place.

:func:`snapshot` copies the live database with ``sqlite3.Connection.backup`` in ONE step
(``pages=-1``): the copy is one read transaction, so it is consistent, and in WAL mode it never
blocks the server's writers (they go on appending to the WAL meanwhile). The copy is switched to
rollback-journal mode so it is one self-contained file. :func:`install` moves a verified,
decrypted copy into the server's database path. Raises ``StorageError``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from mar_desktop.errors import StorageError
from mar_desktop.private_files import private_dir, private_file

SIDE_FILES = ("-wal", "-shm", "-journal")


def snapshot(source: Path, dest: Path) -> None:
    """Consistent online copy of ``source`` into the new file ``dest`` (mode 0600)."""
    if not source.is_file():
        raise StorageError(f"no server database at {source}")
    dest.touch(mode=0o600, exist_ok=False)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(dest)
            try:
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StorageError(f"SQLite backup failed ({type(exc).__name__}: {exc})") from exc


def has_data(path: Path) -> bool:
    """True if the SQLite file holds at least one facility (an empty or new file: False)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='facilities'"
            ).fetchone()
            if found is None:
                return False
            return conn.execute("SELECT 1 FROM facilities LIMIT 1").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return True  # unreadable: treat as data, never overwrite it silently


def install(copy: Path, target: Path) -> None:
    """Replaces ``target`` (and its WAL/SHM files) with ``copy`` atomically (same folder)."""
    if not target.parent.exists():  # a folder the restore makes is the service's alone
        private_dir(target.parent)
    staged = target.with_name(target.name + ".restoring")
    try:
        private_file(staged)  # 0600 before a byte of the database is in it
        with copy.open("rb") as inp, staged.open("wb") as out:
            while block := inp.read(1 << 20):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(staged, 0o600)
        for suffix in SIDE_FILES:
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(staged, target)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise StorageError(f"cannot write the restored database ({exc.strerror})") from exc
