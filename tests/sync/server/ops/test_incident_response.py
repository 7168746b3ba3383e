"""docs/incident-response.md, run (issue 25 item 5): the ``mar-server`` commands of its shell
blocks, read from the page in order, run against a temporary server (SQLite and PostgreSQL),
and each does what the page says: the lost tablet is revoked and refused with the incident in
the audit, the secrets key is rotated (the old one refused at the next start), a new backup key
is made, the audit trail is exported, and a backup under the new key is made in the evidence
folder and checks. Shell lines that are not ``mar-server`` (openssl, systemctl, cp) are not
run; the access report's files are checked with ``mar-desktop check-export``."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mar_desktop import kinds
from mar_desktop.errors import WrongKey
from mar_desktop.model import Resident
from sync.server import backup, cli, config
from sync.server import backup_crypto as bc
from sync.server import secrets_at_rest as sar
from sync.server.serving import open_core
from tests.sync.server.conftest import Server
from ui.cli.main import main as desktop_main

ROOT = Path(__file__).resolve().parents[4]
DOC = ROOT / "docs" / "incident-response.md"
STEPS = [
    "devices", "revoke-device", "devices", "alerts", "rotate-secrets-key", "backup keygen",
    "access-report", "audit", "backup", "backup check",
]
"""The page's commands in order: a step removed or reordered must be a decision, not drift."""


def doc_commands() -> tuple[dict[str, str], list[str]]:
    """The page's shell variables (``NAME=value`` lines) and its ``mar-server`` command lines."""
    variables: dict[str, str] = {}
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S):
        for raw in block.replace("\\\n", " ").splitlines():
            line = raw.split("  #")[0].strip()
            assignment = re.match(r"^([A-Z_]+)=(\S+)$", line)
            if assignment:
                variables[assignment.group(1)] = assignment.group(2).strip('"')
            elif line.startswith("mar-server "):
                commands.append(line)
    return variables, commands


def expand(line: str, values: dict[str, str], etc: Path) -> list[str]:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"the page uses ${name}, which it never sets"
        return values[name]

    text = re.sub(r"\$\{?([A-Z_]+)\}?", value, line).replace("/etc/mar-server", str(etc))
    return shlex.split(text)[1:]


def subcommand(args: list[str]) -> str:
    return " ".join(a for a in args[:2] if not a.startswith("-") and a in _NAMES)


_NAMES = {*STEPS, "keygen", "check"}


def test_the_pages_commands_do_what_it_says(
    server: Server,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lost = server.tablet(label="cart 3")
    admitted = kinds.body_json(kinds.ResidentAdmitted(resident=Resident(
        resident_id="res-1", unit_id="unit-1", given_name="Ada", family_name="Quinn",
        date_of_birth=date(1931, 4, 2), room="101", wristband_id="WB-1")))
    entries = [lost.seal(kinds.RESIDENT_ADMITTED, admitted), *lost.make(3)]
    assert lost.push(entries).status_code == 200
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o700)
    backup_key = etc / "backup.key"
    bc.generate_key_file(backup_key)
    monkeypatch.setenv("MAR_SERVER_DATA", str(server.data))
    monkeypatch.setenv("MAR_SERVER_DB", store_url)
    monkeypatch.setenv("MAR_BACKUP_KEY_FILE", str(backup_key))
    monkeypatch.setenv("MAR_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.delenv(sar.KEY_FILE_ENV, raising=False)

    variables, commands = doc_commands()
    incident = variables["INCIDENT"]
    evidence = tmp_path / "evidence" / incident
    values = {
        **variables,
        "EVIDENCE": str(evidence),
        "DEVICE_ID": lost.device_id,
        "FACILITY_ID": server.facility_id,
        "RESIDENT_ID": "res-1",
        # the page's window is an example; the test's entries are recorded today
        "SINCE": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
        "UNTIL": (datetime.now(UTC) + timedelta(days=2)).date().isoformat(),
        "SERVER_KEY": server.core.public_key,
    }
    ran: list[str] = []
    for line in commands:
        args = expand(line, values, etc)
        step = subcommand(args)
        ran.append(step)
        code = cli.main(args)
        out, err = capsys.readouterr()
        assert code == 0, f"{line}\n{err}"
        check_step(step, server, store_url, etc, evidence, values, out)
        if step == "rotate-secrets-key":  # the page: set MAR_SECRETS_KEY_FILE, restart
            monkeypatch.setenv(sar.KEY_FILE_ENV, str(etc / f"secrets-{incident}.key"))
    assert ran == STEPS


def check_step(
    step: str,
    server: Server,
    store_url: str,
    etc: Path,
    evidence: Path,
    values: dict[str, str],
    out: str,
) -> None:
    incident, device = values["INCIDENT"], values["DEVICE_ID"]
    if step == "devices":
        assert device in out
    elif step == "revoke-device":
        record = server.store.get_device(device)
        assert record is not None and record.revoke_mode == "lost"
        assert server.tablet(label="x").device_id != device
        rows = [r for r in server.store.audit_rows(None, None, None, 10_000)
                if r.action == "revoked"]
        assert rows and incident in rows[-1].detail and values["DISCOVERED"] in rows[-1].detail
    elif step == "rotate-secrets-key":
        new = etc / f"secrets-{incident}.key"
        assert new.stat().st_mode & 0o777 == 0o600
        with pytest.raises(WrongKey):  # the old key no longer starts the server
            open_core(server.data, store_url).store.close()
        open_core(server.data, store_url, secrets_key_file=str(new)).store.close()
        assert sar.key_id(sar.load_key_file(new)) in out
    elif step == "backup keygen":
        assert (etc / f"backup-{incident}.key").stat().st_mode & 0o777 == 0o600
    elif step == "audit":
        csv = evidence / "server-audit.csv"
        assert csv.stat().st_mode & 0o777 == 0o600
        assert evidence.stat().st_mode & 0o777 == 0o700
        text = csv.read_text()
        assert f"incident {incident}" in text and "secrets_key_rotated" in text
    elif step == "backup":
        made = backup.list_backups(evidence / "backups")
        assert made and made[-1][1].stat().st_mode & 0o777 == 0o600
        assert (evidence / "backups").stat().st_mode & 0o777 == 0o700
        key = bc.load_key(etc / f"backup-{incident}.key")
        with made[-1][1].open("rb") as inp:
            header, _ = bc.read_header(inp)
        assert header["key_id"] == bc.key_id(key)  # under the new backup key
    elif step == "backup check":
        assert "OK" in out
    elif step == "access-report":
        folder = evidence / f"access-{values['RESIDENT_ID']}"
        assert folder.stat().st_mode & 0o777 == 0o700
        assert "2 accesses written" in out  # the admission and the dose the lost tablet recorded
        assert desktop_main(
            ["check-export", str(folder), "--trusted-key", server.core.public_key]
        ) == 0
    else:
        assert step == "alerts"


def test_the_page_names_every_key_it_rotates_and_the_timeline() -> None:
    text = DOC.read_text()
    for needed in ("secrets key", "Backup key", "TLS certificate", "§164.404", "Discovery date",
                   "Affected residents", "access-report --facility", "mar-server audit"):
        assert needed in text
    assert config.DEFAULT_DATA_DIR  # the page's commands run against a real data folder above
