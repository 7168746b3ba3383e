"""LocalStore: creation with a device identity, opening through the key store, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from mar_desktop.errors import DatabaseMissing, StorageError
from mar_desktop.signing import DeviceSigner
from storage.keystore import KeyStore
from storage.local_store import LocalStore
from tests import factories as f
from tests.conftest import MemoryKeyring


def test_create_registers_own_device_key(store: LocalStore) -> None:
    conn = store.connect_reader()
    try:
        device_id, facility_id, private = conn.execute(
            "SELECT device_id, facility_id, signing_key FROM local_device"
        ).fetchone()
        keys = conn.execute("SELECT device_id, public_key FROM device_keys").fetchall()
    finally:
        conn.close()
    assert (device_id, facility_id) == (store.device_id, "fac-1")
    public = DeviceSigner.from_private_bytes(bytes(private)).public_hex
    assert keys == [(device_id, public)]
    assert store.ledger.public_key_hex == public


def test_create_and_open_through_the_key_store(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    data = tmp_path / "data"
    created = LocalStore.create(data, KeyStore(data), "fac-1")
    [entry] = created.ledger.append([f.facility()])
    device = created.device_id
    created.close()
    opened = LocalStore.open(data, KeyStore(data))
    try:
        assert opened.device_id == device
        assert opened.ledger.entry(entry.id) == entry
        assert opened.reader().facility() is not None
    finally:
        opened.close()


def test_create_refuses_an_existing_database(
    store: LocalStore, tmp_path: Path, db_key: bytes
) -> None:
    with pytest.raises(StorageError):
        LocalStore.create(tmp_path / "data", db_key, "fac-2")


def test_open_without_a_database_creates_nothing(tmp_path: Path, db_key: bytes) -> None:
    with pytest.raises(DatabaseMissing):
        LocalStore.open(tmp_path / "nothing", db_key)
    assert not (tmp_path / "nothing").exists()


def test_closed_store_refuses_appends(tmp_path: Path, db_key: bytes) -> None:
    closed = LocalStore.create(tmp_path / "data", db_key, "fac-1")
    closed.close()
    closed.close()  # idempotent
    with pytest.raises(StorageError):
        closed.ledger.append([f.facility()])
