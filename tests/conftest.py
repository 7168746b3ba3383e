"""Fixtures shared by every test folder: a test keyring, a database key, a fake clock and an
opened local store on it."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from tests.keyrings import MemoryKeyring, SecureMemoryKeyring  # noqa: F401 (re-exported)


# --- a test keyring (never the real user's) ---------------------------------------------------
@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """Makes an in-memory keyring the keyring backend, in insecure (test) mode; restored after."""
    monkeypatch.setenv("MAR_ALLOW_INSECURE_KEYSTORE", "1")
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def db_key() -> bytes:
    """A fixed 32-byte database key for tests that call ``storage.database.connect`` directly."""
    return bytes(range(32))


# --- an opened local store on a fake clock ---------------------------------------------------
@pytest.fixture
def fake_clock() -> FakeClock:
    """A fake clock at the factories' reference time (2026-01-05 08:00 UTC)."""
    from mar_desktop.clock import FakeClock

    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, db_key: bytes, fake_clock: FakeClock) -> Iterator[LocalStore]:
    """A new LocalStore in ``tmp_path / "data"`` (raw test key, no keyring); closed after."""
    from storage.local_store import LocalStore

    created = LocalStore.create(tmp_path / "data", db_key, "fac-1", fake_clock)
    try:
        yield created
    finally:
        created.close()


from typing import TYPE_CHECKING  # noqa: E402  (this section's own imports)

if TYPE_CHECKING:
    from pathlib import Path

    from mar_desktop.clock import FakeClock
    from storage.local_store import LocalStore
