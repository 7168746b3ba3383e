"""The key store: refuses insecure backends, makes one key per data folder and reuses it."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyrings.alt.file import PlaintextKeyring

from mar_desktop.errors import InsecureKeystore, KeyMissing, StorageError
from storage.keystore import SERVICE, KeyStore, key_name_for
from tests.conftest import MemoryKeyring, SecureMemoryKeyring


class FixedChainer(ChainerBackend):
    """A chainer over a fixed list of members (the real one discovers installed backends)."""

    def __init__(self, members: list[KeyringBackend]) -> None:
        super().__init__()
        self._members = members

    @property
    def backends(self) -> list[KeyringBackend]:  # type: ignore[override]
        return self._members


def _insecure_backends(tmp_path: Path) -> list[KeyringBackend]:
    plaintext = PlaintextKeyring()
    plaintext.file_path = str(tmp_path / "never-written.cfg")  # type: ignore[misc]
    return [
        null.Keyring(),
        fail.Keyring(),
        plaintext,
        MemoryKeyring(),  # priority below 1
        FixedChainer([plaintext, MemoryKeyring()]),  # chainer without a secure member
        FixedChainer([]),
    ]


@pytest.fixture
def strict_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAR_ALLOW_INSECURE_KEYSTORE", raising=False)


@pytest.mark.usefixtures("strict_env")
@pytest.mark.parametrize("index", range(6))
def test_insecure_backends_are_refused(tmp_path: Path, index: int) -> None:
    backend = _insecure_backends(tmp_path)[index]
    with pytest.raises(InsecureKeystore) as info:
        KeyStore(tmp_path / "data", backend=backend)
    message = str(info.value)
    assert "MAR_ALLOW_INSECURE_KEYSTORE=1" in message
    assert "keyring" in message.lower()
    assert not (tmp_path / "never-written.cfg").exists()


@pytest.mark.parametrize("value", ["0", "", "yes", "true"])
def test_only_the_exact_opt_in_allows_insecure_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MAR_ALLOW_INSECURE_KEYSTORE", value)
    with pytest.raises(InsecureKeystore):
        KeyStore(tmp_path, backend=null.Keyring())


def test_insecure_mode_accepts_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MAR_ALLOW_INSECURE_KEYSTORE", "1")
    with caplog.at_level(logging.WARNING, logger="storage.keystore"):
        store = KeyStore(tmp_path, backend=MemoryKeyring())
    assert store.insecure is True
    assert "INSECURE" in caplog.text


def test_allow_insecure_argument_overrides_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAR_ALLOW_INSECURE_KEYSTORE", "1")
    with pytest.raises(InsecureKeystore):
        KeyStore(tmp_path, backend=MemoryKeyring(), allow_insecure=False)


@pytest.mark.usefixtures("strict_env")
def test_secure_backend_is_not_insecure_mode(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, backend=SecureMemoryKeyring())
    assert store.insecure is False


@pytest.mark.usefixtures("strict_env")
def test_chainer_uses_only_its_secure_members(tmp_path: Path) -> None:
    secure = SecureMemoryKeyring()
    weak = MemoryKeyring()
    store = KeyStore(tmp_path, backend=FixedChainer([weak, secure]))
    assert store.insecure is False
    key = store.create_new()
    assert secure.store == {(SERVICE, store.key_name): key.hex()}
    assert weak.store == {}
    # A key planted in the weak member is never read.
    weak.store[(SERVICE, key_name_for(tmp_path / "other"))] = "00" * 32
    with pytest.raises(KeyMissing):
        KeyStore(tmp_path / "other", backend=FixedChainer([weak, secure])).load_existing()


def test_backend_is_chosen_the_standard_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.delenv("MAR_ALLOW_INSECURE_KEYSTORE")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    keyring.core.init_backend()  # the memory_keyring fixture restores the previous backend
    with pytest.raises(InsecureKeystore) as info:
        KeyStore(tmp_path)
    assert "keyring.backends.null.Keyring" in str(info.value)


def test_default_backend_is_keyrings_current_one(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    key = KeyStore(tmp_path).create_new()
    assert list(memory_keyring.store.values()) == [key.hex()]


def test_key_is_created_once_and_reused(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    data = tmp_path / "data"
    store = KeyStore(data)
    assert not store.has_key()
    with pytest.raises(KeyMissing):
        store.load_existing()
    first = store.load_or_create()
    assert len(first) == 32
    assert first != bytes(32)
    assert KeyStore(data).load_or_create() == first
    assert KeyStore(data).load_existing() == first
    assert memory_keyring.store == {(SERVICE, key_name_for(data)): first.hex()}
    assert key_name_for(data).startswith("db-key:")
    assert len(key_name_for(data)) == len("db-key:") + 16


def test_create_new_never_overwrites(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    store = KeyStore(tmp_path)
    key = store.create_new()
    with pytest.raises(StorageError) as info:
        store.create_new()
    assert key.hex() not in str(info.value)
    assert store.load_existing() == key


def test_each_data_folder_has_its_own_key(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    one = KeyStore(tmp_path / "a").create_new()
    two = KeyStore(tmp_path / "b").create_new()
    assert one != two
    assert len(memory_keyring.store) == 2


def test_key_name_is_stable_for_the_same_resolved_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    assert key_name_for(tmp_path / "data") == key_name_for(tmp_path / "x" / ".." / "data")


def test_damaged_stored_key_is_refused(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    store = KeyStore(tmp_path)
    memory_keyring.store[(SERVICE, store.key_name)] = "not-hex"
    with pytest.raises(StorageError, match="damaged"):
        store.load_existing()
    memory_keyring.store[(SERVICE, store.key_name)] = "ab" * 16  # 16 bytes, too short
    with pytest.raises(StorageError, match="damaged"):
        store.load_existing()


def test_backend_that_keeps_nothing_is_detected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAR_ALLOW_INSECURE_KEYSTORE", "1")
    with pytest.raises(StorageError, match="did not keep"):
        KeyStore(tmp_path, backend=null.Keyring()).create_new()


def test_fail_backend_in_insecure_mode_gives_a_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAR_ALLOW_INSECURE_KEYSTORE", "1")
    with pytest.raises(StorageError):
        KeyStore(tmp_path, backend=fail.Keyring()).load_or_create()


def test_key_never_logged(
    tmp_path: Path, memory_keyring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        store = KeyStore(tmp_path)
        key = store.create_new()
        store.load_existing()
    assert caplog.records  # something was logged, and none of it is the key
    assert key.hex() not in caplog.text
    assert key.hex().upper() not in caplog.text
