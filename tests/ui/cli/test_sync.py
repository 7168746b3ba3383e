"""``mar-desktop enroll``, ``sync`` and ``export-pending`` against a real loopback server."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.keystore import KeyStore
from storage.local_store import LocalStore
from tests import factories as f
from tests.conftest import MemoryKeyring
from tests.sync.conftest import Site, ca, cert_files, site  # noqa: F401 - the server's fixtures
from ui.cli.main import main


def test_enroll_sync_and_export_pending(
    site: Site, tmp_path: Path, memory_keyring: MemoryKeyring,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "tablet"
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(site.ca_pem, encoding="ascii")
    code = site.code()
    assert main(["enroll", "--data-dir", str(data), "--server", site.url, "--code", code,
                 "--ca", str(ca_file), "--label", "cart 1"]) == 0
    out = capsys.readouterr().out
    assert f"of facility {site.facility_id}" in out.splitlines()[0]
    assert "pushed: " in out and code not in out

    assert main(["sync", "--data-dir", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3:] == ["waiting to send: 0", "open alerts: 0", "held back (quarantine): 0"]

    bundle = tmp_path / "pending.marbundle"
    assert main(["export-pending", "--data-dir", str(data), "--out", str(bundle)]) == 0
    assert "Nothing is waiting" in capsys.readouterr().out
    assert not bundle.exists()

    with LocalStore.open(data, KeyStore(data)) as store:
        store.ledger.append([f.audit("administration", entity_type="administration")])
    assert main(["export-pending", "--data-dir", str(data), "--out", str(bundle)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("Wrote bundle ") and "0 ledger and 2 audit entries" in said
    assert "'mar-server import-bundle'" in said
    assert bundle.stat().st_size > 0

    assert main(["export-pending", "--data-dir", str(data), "--out", str(bundle)]) == 2
    assert "already exists" in capsys.readouterr().err

    # The server goes away: a one-shot sync fails once, says so, and promises no retry.
    site.stop_server()
    assert main(["sync", "--data-dir", str(data)]) == 7
    said = capsys.readouterr().err
    assert "Sync failed: The server refused the connection" in said
    assert "Nothing was lost" in said and "mar-desktop sync' again" in said
    assert "will retry" not in said.lower() and "trying again" not in said.lower()


def test_export_pending_of_a_tablet_never_enrolled_is_a_clear_error(
    tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    assert main(["seed-demo", "--data-dir", str(data), "--days", "0",
                 "--residents-per-unit", "1"]) == 0
    capsys.readouterr()
    bundle = tmp_path / "b"
    assert main(["export-pending", "--data-dir", str(data), "--out", str(bundle)]) == 7
    assert "not enrolled" in capsys.readouterr().err
    assert not bundle.exists()
