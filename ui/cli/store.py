"""The data folder's database as the commands open it.

:func:`open_store` opens it with the key from the operating system's key store (an insecure
key store is announced by the key store's own warning) and closes it on exit. Opening settles
a rekey that was interrupted (see :meth:`storage.local_store.LocalStore.open`). Main thread of
a command-line process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.keystore import KeyStore
from storage.local_store import LocalStore


@contextmanager
def open_store(data_dir: Path) -> Iterator[LocalStore]:
    """The open store of ``data_dir``, closed on exit. Raises ``DatabaseMissing``,
    ``KeyMissing``, ``WrongKey`` or another ``StorageError``; nothing is created."""
    store = LocalStore.open(data_dir, KeyStore(data_dir))
    try:
        yield store
    finally:
        store.close()
