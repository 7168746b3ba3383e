"""The systemd unit and the env-file example stay in step with the code that reads them."""

from __future__ import annotations

import re
from pathlib import Path

from sync.server import cli

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "packaging" / "server"


def env_example() -> set[str]:
    text = (PKG / "mar-server.env.example").read_text()
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, flags=re.M))


def test_unit_uses_only_variables_the_env_file_defines() -> None:
    unit = (PKG / "mar-server.service").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)\}", unit))
    assert used and used <= env_example()
    assert "EnvironmentFile=/etc/mar-server/mar-server.env" in unit
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    args = exec_start.split()[1:]
    assert args[0] == "serve"
    assert "--insecure-http-loopback" not in args
    parsed = cli.build_parser().parse_args(
        [a.replace("${MAR_SERVER_PORT}", "8443") for a in args]
    )
    assert parsed.cert and parsed.key  # TLS always, with the customer's certificate


def test_every_variable_the_server_reads_is_in_the_env_example() -> None:
    read: set[str] = set()
    for path in (ROOT / "sync" / "server").glob("*.py"):
        read |= set(re.findall(r"[\"'](MAR_[A-Z0-9_]+)[\"']", path.read_text()))
    documented = env_example()
    missing = read - documented
    assert not missing, f"add to packaging/server/mar-server.env.example: {sorted(missing)}"


def test_backup_service_runs_backup_prune_and_check() -> None:
    unit = (PKG / "mar-server-backup.service").read_text()
    runs = [line.split(None, 1)[1] for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert runs == ["backup", "backup prune", "backup check"]
    for command in runs:
        cli.build_parser().parse_args(command.split())
    assert "OnCalendar=" in (PKG / "mar-server-backup.timer").read_text()
