"""The systemd units, the env-file example and the documented permissions work together, and the
server's files holding PHI or keys are 0600 in 0700 folders whatever the umask (issue 22 item 8).

systemd is not PID 1 here, so the unit is not started by systemd: a service user is created, the
files are laid out as docs/server-operations.md section 1 says (``/etc/mar-server`` 0750
root:mar-server, keys 0600 owned by the service user, the env file 0600 root), and the unit's own
``ExecStart`` line (with the env example's values, paths moved into a temporary folder) runs as
that user through ``setpriv``, under umask 000 (the unit's ``UMask=0077`` is not relied on): it
initialises, serves ``/health`` over TLS 1.3, and the backup unit's commands and an audit export
run as the same user. Every file the server made is then 0600, every folder 0700.

Needs root (to create the user and drop to it): skipped with the reason when not root, except
in CI, where it fails. The interpreter may live under a folder the service user cannot enter
(``/root/.pyenv``): the commands then run in a private mount namespace where only the path to
it is made passable (the real folder is untouched).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync.server import secrets_at_rest as sar
from sync.server.devcert import make_loopback_cert

ROOT = Path(__file__).resolve().parents[4]
PKG = ROOT / "packaging" / "server"
VENV_BIN = Path(sys.executable).parent
INSTALLED = "/opt/mar-server/venv/bin/mar-server"


def _need_root() -> None:
    if os.geteuid() == 0 and shutil.which("setpriv") and shutil.which("useradd"):
        return
    reason = "needs root, setpriv and useradd to run the unit's command as a service user"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so it must run")
    pytest.skip(reason)


@pytest.fixture
def service_user() -> Iterator[str]:
    _need_root()
    name = f"marsvc{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True, capture_output=True, timeout=60,
    )
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True, timeout=60)


def _closed_ancestor(path: Path) -> Path | None:
    """The outermost folder on ``path`` that others may not enter, if any."""
    for folder in reversed(path.parents):
        if folder != Path("/") and not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    return None


def _as_user_prefix(user: str, work: Path) -> list[str]:
    """The command prefix running what follows as ``user`` under umask 000 (see the module
    docstring for the mount namespace)."""
    steps = ["set -e"]
    for n, target in enumerate({Path(os.path.realpath(sys.executable)), ROOT}):
        closed = _closed_ancestor(target)
        if closed is None:
            continue
        child = closed / target.relative_to(closed).parts[0]
        hidden = work / f".real-{n}"
        steps += [
            f"mkdir -p '{hidden}'",
            f"mount --bind '{closed}' '{hidden}'",
            f"mount -t tmpfs -o mode=0755 tmpfs '{closed}'",
            f"mkdir -p '{child}'",
            f"mount --bind '{hidden}/{child.name}' '{child}'",
        ]
    steps += ["umask 000", f'exec setpriv --reuid={user} --regid={user} --clear-groups -- "$@"']
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            "\n".join(steps), "sh"]


def _exec_line(unit: str) -> list[list[str]]:
    text = (PKG / unit).read_text()
    return [line.split("=", 1)[1].split() for line in text.splitlines()
            if line.startswith("ExecStart=")]


def _env(paths: dict[str, Path], port: int) -> dict[str, str]:
    """The env example's settings with its paths moved under the test folder."""
    env: dict[str, str] = {}
    for line in (PKG / "mar-server.env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]+)=(.*)$", line)
        if match:
            value = match.group(2)
            for real, moved in paths.items():
                value = value.replace(real, str(moved))
            env[match.group(1)] = value
    env.update(MAR_SERVER_HOST="127.0.0.1", MAR_SERVER_PORT=str(port))
    return env


def _expand(args: list[str], env: dict[str, str]) -> list[str]:
    out = [str(VENV_BIN / "mar-server") if a == INSTALLED else a for a in args]
    return [re.sub(r"\$\{([A-Z0-9_]+)\}", lambda m: env[m.group(1)], a) for a in out]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _give(path: Path, user: str, mode: int, group_only: bool = False) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, 0 if group_only else entry.pw_uid, entry.pw_gid)
    os.chmod(path, mode)


def test_the_unit_runs_as_the_service_user_and_makes_only_private_files(
    service_user: str,
) -> None:
    work = Path(tempfile.mkdtemp(prefix="mar-svc-", dir="/tmp"))
    os.chmod(work, 0o755)
    try:
        _run_as_service(service_user, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_as_service(user: str, work: Path) -> None:
    # /etc/mar-server as documented: 0750 root:mar-server, keys 0600 owned by the service user
    etc = work / "etc"
    etc.mkdir()
    _give(etc, user, 0o750, group_only=True)
    tls = etc / "tls"
    tls.mkdir()
    _give(tls, user, 0o750, group_only=True)
    cert = make_loopback_cert(work / "made")
    shutil.copy(cert.pem_file, tls / "privkey.pem")
    shutil.copy(cert.pem_file, tls / "fullchain.pem")
    _give(tls / "privkey.pem", user, 0o600)
    _give(tls / "fullchain.pem", user, 0o644, group_only=True)
    for key in ("secrets.key", "backup.key"):
        sar.generate_key_file(etc / key)
        _give(etc / key, user, 0o600)
    state = work / "state"  # what systemd's StateDirectory= makes: the user's, 0700
    state.mkdir()
    _give(state, user, 0o700)
    data, backups = state / "mar-server", state / "backups"  # made by the server itself
    port = _free_port()
    env = _env({"/var/lib/mar-server": data, "/etc/mar-server": etc,
                "/var/backups/mar-server": backups}, port)
    env.update(PATH=f"{VENV_BIN}:/usr/bin:/bin", HOME=str(state), LANG="C.UTF-8")
    prefix = _as_user_prefix(user, work)

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*prefix, *args], env=env, capture_output=True, text=True,
                              timeout=180, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    mar = str(VENV_BIN / "mar-server")
    run([mar, "init", "--facility-name", "Maple House", "--json"])

    (serve_args,) = _exec_line("mar-server.service")
    server = subprocess.Popen([*prefix, *_expand(serve_args, env)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ctx = ssl.create_default_context(cadata=cert.ca_pem)
        for _ in range(600):
            if server.poll() is not None:
                break
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/health", verify=ctx, timeout=2)
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            assert answer.status_code == 200, answer.text
            break
        else:
            pytest.fail("mar-server did not answer /health")
        assert server.poll() is None, server.communicate()[1][-2000:]
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    assert "MAR_SECRETS_KEY_FILE" not in err  # the env example's key file was used
    for args in _exec_line("mar-server-backup.service"):
        run(_expand(args, env))
    run([mar, "audit", "--out", str(state / "audit.csv")])

    made = [data, backups, *data.rglob("*"), *backups.rglob("*"), state / "audit.csv"]
    uid = pwd.getpwnam(user).pw_uid
    assert any(p.name.endswith(".marbak") for p in made)
    assert any(p.name.endswith(".sqlite3") for p in made)
    wrong = {
        str(p.relative_to(work)): oct(p.stat().st_mode & 0o777)
        for p in made
        if p.stat().st_mode & 0o777 != (0o700 if p.is_dir() else 0o600) or p.stat().st_uid != uid
    }
    assert wrong == {}
