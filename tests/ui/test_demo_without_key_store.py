"""``make demo`` works on a machine with no secure key store and no insecure-mode setting: the
demo's key lives in memory, so opening it never asks the system key store (a revoked demo
tablet would only fail to erase a key the quit discards anyway)."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyring

from mar_desktop.clock import SystemClock
from storage.keystore import INSECURE_ENV
from ui import app, demo


@pytest.fixture
def no_key_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(INSECURE_ENV, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def test_the_demo_opens_with_its_sync_engine_where_no_key_store_exists(no_key_store: None) -> None:
    site = demo.start_demo(SystemClock(), days=0, residents_per_unit=1)
    opened = None
    try:
        opened = app.opened_store(site.store, SystemClock())
        assert opened.engine is not None
    finally:
        if opened is not None:
            if opened.engine is not None:
                opened.engine.close()
            opened.backend.close()
        site.close()
