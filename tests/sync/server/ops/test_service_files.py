"""The systemd unit and the env-file example stay in step with the code that reads them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sync.server import cli

ROOT = Path(__file__).resolve().parents[4]
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


def test_template_unit_serves_tls_on_loopback_on_the_instance_port() -> None:
    unit = (PKG / "mar-server@.service").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)\}", unit))
    assert used and used <= env_example()
    assert "EnvironmentFile=/etc/mar-server/mar-server.env" in unit
    assert "MAR_TRUSTED_PROXIES" in env_example()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    args = exec_start.split()[1:]
    assert "--insecure-http-loopback" not in args
    parsed = cli.build_parser().parse_args([a.replace("%i", "8441") for a in args])
    assert parsed.cert and parsed.key
    assert parsed.host == "127.0.0.1" and parsed.port == 8441


def test_haproxy_balances_the_instances_the_target_starts() -> None:
    cfg = (ROOT / "packaging" / "haproxy" / "mar-server.cfg").read_text()
    balanced = set(re.findall(r"^\s*server \S+ 127\.0\.0\.1:(\d+)", cfg, flags=re.M))
    target = (PKG / "mar-server.target").read_text()
    started = set(re.findall(r"mar-server@(\d+)\.service", target))
    assert balanced and balanced == started
    assert "http-check send meth GET uri /health" in cfg
    assert "http-request set-header X-Forwarded-For %[src]" in cfg


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """Only the missing executable (the venv of a real install) may be reported."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing: .ci/run installs it (Debian package systemd)")
        pytest.skip("systemd-analyze is not installed")
    for name in ("mar-server.service", "mar-server.target", "mar-server-backup.service"):
        shutil.copy(PKG / name, tmp_path / name)
    shutil.copy(PKG / "mar-server@.service", tmp_path / "mar-server@8441.service")
    units = sorted(str(p) for p in tmp_path.iterdir())
    done = subprocess.run(
        [tool, "verify", *units], capture_output=True, text=True, timeout=60, check=False
    )
    complaints = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and "/opt/mar-server/venv/bin/mar-server is not executable" not in line
    ]
    assert complaints == []
