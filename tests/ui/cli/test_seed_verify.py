"""The command line as an admin uses it: seed, verify, and verify after tampering."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.keystore import KeyStore
from storage.local_store import LocalStore
from tests.conftest import MemoryKeyring
from ui.cli.main import main


def test_seed_demo_then_verify_then_tamper(
    tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert main(["seed-demo", "--data-dir", str(data), "--days", "1",
                 "--residents-per-unit", "2"]) == 0
    out = capsys.readouterr().out
    assert "4 residents" in out
    assert main(["verify", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.startswith("OK: ")

    store = LocalStore.open(data, KeyStore(data))
    conn = store.connect_reader()
    try:
        seq, entry_id = conn.execute(
            "SELECT seq, id FROM ledger WHERE kind = 'administration.recorded' "
            "ORDER BY seq LIMIT 1").fetchone()
        for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='ledger'"
        ).fetchall():
            conn.execute(f'DROP TRIGGER "{name}"')
        raw = conn.execute("SELECT raw FROM ledger WHERE seq = ?", (seq,)).fetchone()[0]
        forged = bytes(raw).replace(b'"outcome":"given"', b'"outcome":"refused"', 1)
        assert forged != bytes(raw)
        conn.execute("UPDATE ledger SET raw = ? WHERE seq = ?", (forged, seq))
    finally:
        conn.close()
        store.close()
    assert main(["verify", "--data-dir", str(data)]) == 5
    report = capsys.readouterr().out
    assert report.startswith("FAILED")
    assert f"seq {seq}" in report and entry_id in report


def test_verify_without_database_is_a_clear_error(
    tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--data-dir", str(tmp_path / "none")]) == 6
    assert "no MAR Desktop database" in capsys.readouterr().err
    assert not (tmp_path / "none" / "mar.db").exists()


@pytest.mark.parametrize("before", [True, False], ids=["before the command", "after it"])
def test_data_dir_is_honoured_before_or_after_the_command(
    tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, before: bool,
) -> None:
    """``--data-dir`` given before the command used to be replaced by the command's own default
    (the platform folder): the demo was written somewhere the admin did not ask for."""
    elsewhere = tmp_path / "platform-default"
    monkeypatch.setattr("ui.cli.main.default_data_dir", lambda: elsewhere)
    data = tmp_path / "data"
    option = ["--data-dir", str(data)]
    seed = ["seed-demo", "--days", "1", "--residents-per-unit", "2"]
    assert main(option + seed if before else seed + option) == 0
    assert (data / "mar.db").exists()
    assert not elsewhere.exists()
    assert main([*option, "verify"] if before else ["verify", *option]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("OK: ")


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [("--days", "-1", "must be 0 or more"), ("--days", "two", "not a whole number"),
     ("--residents-per-unit", "0", "must be 1 or more")],
)
def test_a_bad_seed_count_is_refused_before_any_database_is_made(
    tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str],
    option: str, value: str, said: str,
) -> None:
    data = tmp_path / "data"
    with pytest.raises(SystemExit) as refused:
        main(["seed-demo", "--data-dir", str(data), option, value])
    assert refused.value.code == 2
    assert said in capsys.readouterr().err
    assert not data.exists()


def test_a_seed_that_fails_midway_leaves_no_database_behind(
    tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Disk full (or Ctrl-C) in the middle of seeding: the half-seeded database this command
    created is removed, so the same command works once the cause is gone."""
    from mar_desktop.errors import StorageError
    from tests import factories as f
    from ui.cli import seed_demo

    real = seed_demo.seed_into

    def fail_midway(store: LocalStore, **options: object) -> object:
        store.ledger.append(f.small_facility(1)[0])  # something is written first
        raise StorageError("The disk is full; nothing more could be written.")

    monkeypatch.setattr(seed_demo, "seed_into", fail_midway)
    data = tmp_path / "data"
    args = ["seed-demo", "--data-dir", str(data), "--days", "1", "--residents-per-unit", "2"]
    assert main(args) == 6
    assert "disk is full" in capsys.readouterr().err
    assert not [p.name for p in data.iterdir() if p.name.startswith("mar.db")]
    monkeypatch.setattr(seed_demo, "seed_into", real)
    assert main(args) == 0
    assert main(["verify", "--data-dir", str(data)]) == 0


def test_every_command_runs_through_its_own_module() -> None:
    """The parser's commands and the modules of ``ui.cli`` that run them stay in step."""
    import argparse

    from ui.cli.main import build_parser, command

    (commands,) = [a for a in build_parser()._actions
                   if isinstance(a, argparse._SubParsersAction)]
    assert len(commands.choices) == 13  # orders is the thirteenth
    for name in commands.choices:
        run = command(name)
        assert callable(run) and run.__module__.startswith("ui.cli."), name
