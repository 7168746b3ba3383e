"""``mar-desktop verify`` on a tablet that started from the server's snapshot and has not fetched
its history yet: every entry it holds verifies, and it says plainly that the chains are partial,
with its own exit code (6), neither "OK" (0) nor "FAILED" (5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mar_desktop.clock import FakeClock
from storage import history
from storage.keystore import KeyStore
from sync.engine import SyncEngine
from sync.enroll import enroll
from tests.conftest import MemoryKeyring
from tests.sync.conftest import Site, ca, cert_files  # noqa: F401 - the server's fixtures
from tests.sync.test_snapshot import LATER, world  # noqa: F401 - a facility with old history
from tests.sync.world import Cart
from ui.cli.main import main
from ui.cli.verify import PARTIAL


def test_verify_of_a_tablet_still_fetching_its_history_exits_6_and_says_partial(
    world: tuple[Site, Cart, object],  # noqa: F811
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site, _cart, _seeded = world
    data = tmp_path / "new-cart"
    store = enroll(data, KeyStore(data), server_url=site.url, code=site.code(),
                   ca_pem=site.ca_pem, label="new cart", clock=FakeClock(LATER))
    engine = SyncEngine(store, clock=FakeClock(LATER), interval=3600, backfill_slice=0)
    try:
        assert engine.sync_once().snapshot > 0  # usable from the snapshot; no history fetched
        backfill = engine.state.backfill()
        assert backfill is not None and backfill.status == history.BACKFILLING
    finally:
        engine.close()
        store.close()
    capsys.readouterr()

    assert PARTIAL == 6
    assert main(["verify", "--data-dir", str(data)]) == 6
    said = capsys.readouterr().out
    assert said.startswith("PARTIAL: ") and "not complete yet" in said
    assert "FAILED" not in said and not said.startswith("OK")
