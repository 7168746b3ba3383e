"""Prints and exports from the command line, signed in as a person (password + TOTP on stdin)."""

from __future__ import annotations

import io
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mar_desktop.demo.staff import demo_staff
from mar_desktop.people.totp import code_at
from tests.conftest import MemoryKeyring
from ui.cli.main import main

STAFF = {s.user.username: s for s in demo_staff(("u1", "u2"))}


def as_user(monkeypatch: pytest.MonkeyPatch, username: str) -> list[str]:
    member = STAFF[username]
    code = code_at(member.totp_secret, datetime.now(UTC))
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{member.password}\n{code}\n"))
    return ["--user", username]


@pytest.fixture
def data(tmp_path: Path, memory_keyring: MemoryKeyring) -> Path:
    folder = tmp_path / "data"
    assert main(["seed-demo", "--data-dir", str(folder), "--days", "1",
                 "--residents-per-unit", "2"]) == 0
    return folder


def print_day_shift(
    data: Path, unit: str, sheet: Path, monkeypatch: pytest.MonkeyPatch, user: str = "nurse"
) -> int:
    """``mar-desktop print shift`` of ``unit``'s day shift to ``sheet``, as ``user``."""
    return main(["print", "shift", "--data-dir", str(data), "--unit", unit, "--shift", "day",
                 "--out", str(sheet), *as_user(monkeypatch, user)])


def test_print_export_and_check(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sheet = tmp_path / "shift.pdf"
    # an unknown unit is bad input (exit 2) and the message names the units; nothing written
    assert print_day_shift(data, "Birch Wing", sheet, monkeypatch, user="nurse2") == 2
    assert "No unit 'Birch Wing'; units are: Maple Wing, Oak Wing." in capsys.readouterr().err
    assert not sheet.exists()
    assert print_day_shift(data, "maple wing", sheet, monkeypatch) == 0
    assert sheet.read_bytes().startswith(b"%PDF")

    today = datetime.now(UTC).date()
    window = ["--from", str(today - timedelta(days=2)), "--to", str(today + timedelta(days=1))]
    out = tmp_path / "export"
    assert main(["export", "--data-dir", str(data), *window, "--out", str(out),
                 *as_user(monkeypatch, "surveyor")]) == 0
    assert {p.name for p in out.iterdir()} >= {"entries.csv", "entries.pdf", "manifest.json"}
    assert "ledger verification: OK" in capsys.readouterr().out
    # Without the facility's keys the export is intact but its signer unchecked: not a pass.
    assert main(["check-export", str(out)]) == 6
    assert "NOT checked against the facility" in capsys.readouterr().out
    keys = tmp_path / "facility-keys.json"
    assert main(["facility-keys", "--data-dir", str(data), "--out", str(keys)]) == 0
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    capsys.readouterr()
    assert main(["check-export", str(out), "--facility-keys", str(keys)]) == 0
    assert "trusted device key of the facility" in capsys.readouterr().out
    csv = out / "entries.csv"
    raw = bytearray(csv.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    csv.write_bytes(bytes(raw))
    assert main(["check-export", str(out)]) == 5
    assert main(["check-export", str(out), "--facility-keys", str(keys)]) == 5

    bundle = tmp_path / "bundle.json"
    assert main(["export-fhir", "--data-dir", str(data), *window, "--out", str(bundle),
                 *as_user(monkeypatch, "admin")]) == 0
    from fhir.resources.R4B.bundle import Bundle

    assert Bundle.model_validate_json(bundle.read_bytes()).type == "collection"

    refused = tmp_path / "refused"
    assert main(["export", "--data-dir", str(data), *window, "--out", str(refused),
                 *as_user(monkeypatch, "cna")]) == 4
    assert not refused.exists()
    assert "does not allow" in capsys.readouterr().err


def test_wrong_code_is_refused_and_writes_nothing(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    member = STAFF["admin"]
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{member.password}\n000000\n"))
    out = tmp_path / "sheet.pdf"
    assert main(["print", "monthly", "--data-dir", str(data), "--month", "2026-01",
                 "--out", str(out), "--user", "admin"]) == 3
    assert not out.exists()
    assert "000000" not in capsys.readouterr().err


class _NoInput(io.StringIO):
    def readline(self, *args: object) -> str:  # type: ignore[override]
        raise AssertionError("the password was asked for before the arguments were checked")

    read = readline


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["print", "monthly", "--month", "2026-13"], "Month must be given as YYYY-MM"),
        (["print", "shift", "--unit", "Oak Wing", "--shift", "day", "--date", "2026-02-30"],
         "'2026-02-30' is not a date (YYYY-MM-DD)"),
        (["export", "--from", "yesterday", "--to", "2026-12-01"],
         "'yesterday' is not a date (YYYY-MM-DD) or a time with a zone"),
        (["export-fhir", "--from", "2026-12-01", "--to", "2026-12-01T10:00"],
         "'2026-12-01T10:00' is not a date (YYYY-MM-DD) or a time with a zone"),
    ],
)
def test_a_mistyped_date_is_refused_before_the_password_is_asked_for(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], command: list[str], said: str,
) -> None:
    """A typo in --month, --date, --from or --to used to be found only after sign-in, so it
    cost the user an authenticator code (each is good once) and a wait for the next one."""
    monkeypatch.setattr("sys.stdin", _NoInput())
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as refused:
        main([*command, "--data-dir", str(data), "--out", str(out), "--user", "admin"])
    assert refused.value.code == 2
    assert said in capsys.readouterr().err
    assert not out.exists()
