"""Fixtures shared by every test folder: a test keyring, a database key, a fake clock, an
opened local store on it, and the check that no test leaves a thread running.

Fixtures used by one folder live in that folder's ``conftest.py``; the demo facility that
service, report, sync and benchmark tests build on is ``tests/facility.py``.

Tests under ``tests/ui`` that drive Qt (everything there but ``tests/ui/cli``) are marked
``gui``: ``make test`` runs them alone, after the parallel part, because they measure how long
the GUI thread is blocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from tests.keyrings import MemoryKeyring, SecureMemoryKeyring  # noqa: F401 (re-exported)
from tests.leaks import running_thread_ids, threads_started_since

_UI = Path(__file__).parent / "ui"
_UI_CLI = _UI / "cli"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks the Qt tests ``gui`` (see the module docstring)."""
    for item in items:
        path = item.path
        if path.is_relative_to(_UI) and not path.is_relative_to(_UI_CLI):
            item.add_marker(pytest.mark.gui)


# --- no thread outlives its test -------------------------------------------------------------
@pytest.fixture(autouse=True)
def no_thread_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a test that leaves a thread running which it (or its function-scoped fixtures)
    started. Threads of module- and session-scoped fixtures (a shared server) are running
    before this fixture starts, so they are not counted; this fixture is set up before, and torn
    down after, every other function-scoped fixture."""
    before = running_thread_ids()
    yield
    left = threads_started_since(before)
    if left:
        names = ", ".join(sorted(thread.name for thread in left))
        pytest.fail(f"{request.node.nodeid} left threads running: {names}", pytrace=False)


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
    from mar_desktop.clock import FakeClock
    from storage.local_store import LocalStore
