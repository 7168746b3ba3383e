"""Crypto-erase of a revoked tablet (docs/architecture.md#lost-and-retired-tablets).

The database is encrypted under one random key kept in the OS key store
(:mod:`storage.keystore`). Erasing that key makes every copy of the database file unreadable,
including blocks a file system or flash controller keeps after a delete, which overwriting the
file cannot promise. :meth:`Eraser.erase` therefore (1) deletes the key and checks it is gone,
(2) writes ``ERASED.json`` in the data folder — what happened and when, no PHI, so the app can
say so at its next start instead of "key missing" — and (3) removes the database files as a
courtesy (a file still open elsewhere may stay until closed; it is unreadable without the key).

The caller (the sync engine, after it checked the server's signed revocation and, for a retired
tablet, that the server acknowledged everything) decides *whether*; this module only does it.
Threads: any; blocks on the key store. Raises ``StorageError`` when the key cannot be erased
(then nothing else is done).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from mar_desktop.clock import utc_iso
from mar_desktop.private_files import write_private
from storage.database import database_path

log = logging.getLogger(__name__)

MARKER = "ERASED.json"


class ErasableKey(Protocol):
    def erase(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Erased:
    """What :func:`erased_note` reads back from ``ERASED.json``."""

    device_id: str
    mode: str
    erased_at: str


class Eraser:
    """Erases the database of ``data_dir`` by erasing its key (see the module docstring)."""

    def __init__(self, data_dir: Path, key: ErasableKey) -> None:
        self.data_dir = data_dir
        self._key = key

    def erase(self, device_id: str, mode: str, at: datetime) -> Erased:
        self._key.erase()
        note = Erased(device_id, mode, utc_iso(at))
        text = json.dumps(
            {"device_id": note.device_id, "mode": note.mode, "erased_at": note.erased_at},
            sort_keys=True,
        )
        write_private(self.data_dir / MARKER, (text + "\n").encode("utf-8"))
        db = database_path(self.data_dir)
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            try:
                path.unlink(missing_ok=True)
            except OSError:  # e.g. still open on Windows: unreadable without the key anyway
                log.warning("a database file of the erased tablet could not be removed")
        log.warning("this tablet was revoked (%s) and its database crypto-erased", mode)
        return note


def erased_note(data_dir: Path) -> Erased | None:
    """The erase record of ``data_dir``, or None if it was never erased."""
    try:
        data = json.loads((data_dir / MARKER).read_text(encoding="utf-8"))
        return Erased(str(data["device_id"]), str(data["mode"]), str(data["erased_at"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Erased("", "unknown", "")
