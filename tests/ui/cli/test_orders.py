"""``mar-desktop orders``: the verification queue from the command line, signed in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MemoryKeyring
from tests.ui.cli.test_reports import as_user
from ui.cli.main import main


@pytest.fixture
def seeded(tmp_path: Path, memory_keyring: MemoryKeyring) -> Path:
    folder = tmp_path / "data"
    assert main(["seed-demo", "--data-dir", str(folder), "--days", "0",
                 "--residents-per-unit", "1"]) == 0
    return folder


def test_the_seeded_orders_are_verified_and_the_queue_is_a_verifier_s(
    seeded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["orders", "pending", "--data-dir", str(seeded),
                 *as_user(monkeypatch, "nurse")]) == 0
    out = capsys.readouterr().out  # the demo leaves an import and a change to verify
    assert "2 awaiting verification." in out
    assert "New order (pharmacy import): Omeprazole" in out and "Changed order" in out
    assert main(["orders", "verify", "no-such-entry", "--data-dir", str(seeded),
                 *as_user(monkeypatch, "nurse2")]) != 0  # (one TOTP code per person and step)
    assert "Nothing awaits verification" in capsys.readouterr().err
    assert main(["orders", "pending", "--data-dir", str(seeded),
                 *as_user(monkeypatch, "cna")]) != 0
    assert "does not allow" in capsys.readouterr().err


def test_a_verification_at_the_terminal_is_signed_by_the_verifier_s_own_key(
    seeded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["orders", "pending", "--data-dir", str(seeded),
                 *as_user(monkeypatch, "nurse")]) == 0
    out = capsys.readouterr().out
    entry = next(line.split()[0] for line in out.splitlines() if "Omeprazole" in line)
    assert main(["orders", "verify", entry, "--data-dir", str(seeded),
                 *as_user(monkeypatch, "nurse2")]) == 0
    said = capsys.readouterr().out
    assert f"Verified {entry}." in said and "'s own key." in said
