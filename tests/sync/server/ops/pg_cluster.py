"""Throw-away PostgreSQL clusters for the point-in-time recovery test (``test_pitr.py``).

The shared cluster on 5432 has no WAL archiving, so the test makes its own with ``initdb`` on
spare loopback ports. ``initdb`` and ``postgres`` refuse to run as root, and CI runs as root:
then every PostgreSQL program runs as the ``postgres`` user (``setpriv``), in a folder that
user owns; as anyone else they run as that user. Binaries: ``MAR_PG_BIN``, else the newest
``/usr/lib/postgresql/*/bin``. Missing ones skip the test, or fail it when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.processes import free_port


def pg_bin_or_skip() -> Path:
    folder = os.environ.get("MAR_PG_BIN")
    candidates = [Path(folder)] if folder else []
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    candidates += reversed(versions)
    for path in candidates:
        if (path / "initdb").is_file() and (path / "pg_basebackup").is_file():
            return path
    if os.environ.get("CI"):
        pytest.fail("PostgreSQL server binaries (initdb) are not installed; CI must run this test")
    pytest.skip("PostgreSQL server binaries (initdb) not found; set MAR_PG_BIN")


def _runner() -> tuple[list[str], int | None, int | None]:
    """The prefix that runs a PostgreSQL program as a non-root user, and that user's ids."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root, and there is no 'postgres' user to run PostgreSQL as")
    prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"]
    return prefix, user.pw_uid, user.pw_gid


@contextmanager
def workspace() -> Iterator[Path]:
    """A folder the PostgreSQL user owns (under /tmp: pytest's own is root's, mode 0700)."""
    _, uid, gid = _runner()
    folder = Path(tempfile.mkdtemp(prefix="mar-pitr-"))
    if uid is not None and gid is not None:
        os.chown(folder, uid, gid)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Cluster:
    """One PostgreSQL cluster in ``data`` on a spare loopback port (superuser ``mar``, trust)."""

    def __init__(self, bin_dir: Path, data: Path, work: Path) -> None:
        self.bin, self.data, self.work = bin_dir, data, work
        self.port = free_port()
        self.prefix, _, _ = _runner()
        self.log = work / f"{data.name}.log"

    def run(self, program: str, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [*self.prefix, str(self.bin / program), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.work,
        )
        if done.returncode != 0:
            raise AssertionError(f"{program} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def write(self, path: Path, text: str) -> None:
        """Writes a file as the cluster's user (``postgresql.auto.conf``, signals)."""
        path.write_text(text)
        _, uid, gid = _runner()
        if uid is not None and gid is not None:
            os.chown(path, uid, gid)

    def initdb(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "mar", "--auth=trust", "-E", "UTF8")

    def configure(self, **settings: str) -> None:
        base = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.work}'",
            "fsync": "on",
        }
        lines = [f"{k} = {v}" for k, v in {**base, **settings}.items()]
        self.write(self.data / "postgresql.auto.conf", "\n".join(lines) + "\n")

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(AssertionError):  # already stopped
            self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", timeout=60)

    @property
    def dsn(self) -> str:
        return f"postgresql://mar@127.0.0.1:{self.port}/postgres"

    def sql(self, query: str) -> object:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cur = conn.execute(query)
            row = cur.fetchone() if cur.description is not None else None
        return None if row is None else row[0]

    def wait_until(self, query: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.sql(query):
            assert time.monotonic() < deadline, f"timed out waiting for: {query}"
            time.sleep(0.1)
