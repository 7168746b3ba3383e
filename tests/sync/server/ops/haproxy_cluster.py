"""Several ``mar-server serve`` processes on one PostgreSQL schema behind a real HAProxy running
the shipped ``packaging/haproxy/mar-server.cfg`` (only addresses and file paths replaced), for
``test_haproxy.py`` and the HAProxy row of ``make bench``. Everything listens on loopback."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sync.server.devcert import make_loopback_cert
from sync.server.simtablet import SimTablet
from tests.processes import free_port, wait_listening

ROOT = Path(__file__).resolve().parents[4]
SHIPPED = ROOT / "packaging" / "haproxy" / "mar-server.cfg"


def haproxy_or_skip() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is not installed; CI must run this test (.ci/run installs it)")
        pytest.skip("haproxy is not installed (apt-get install -y haproxy); CI runs this test")
    return found


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class Cluster:
    """The processes, the load balancer and what the tablets need to reach them."""

    def __init__(self, tmp: Path, dsn: str, processes: int = 3, verify_workers: int = 0) -> None:
        """``processes`` (1–3, the shipped configuration's server lines) serve processes;
        ``verify_workers`` as ``serve --verify-workers`` (0: checking threads, which keeps a
        test's process count down)."""
        self.verify_workers = verify_workers
        self.tmp, self.dsn = tmp, dsn
        self.data = tmp / "data"
        self.cert = make_loopback_cert(tmp / "tls")
        self.ca_file = tmp / "ca.pem"
        self.ca_file.write_text(self.cert.ca_pem)
        self.ports = [free_port() for _ in range(processes)]
        self.lb_port = free_port()
        self.apps: list[subprocess.Popen[str]] = []
        self.lb: subprocess.Popen[str] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ, MAR_SERVER_DATA=str(self.data), MAR_SERVER_DB=self.dsn)
        env["MAR_TRUSTED_PROXIES"] = "127.0.0.1"
        return env

    def start(self, haproxy: str) -> None:
        for port in self.ports:
            self.apps.append(
                subprocess.Popen(
                    [sys.executable, "-m", "sync.server.cli", "serve", "--port", str(port),
                     "--cert", str(self.cert.pem_file), "--key", str(self.cert.pem_file),
                     "--verify-workers", str(self.verify_workers), "--log-level", "warning"],
                    env=self.env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True, start_new_session=True,
                )
            )  # fmt: skip
        cfg = self.tmp / "haproxy.cfg"
        cfg.write_text(self.config())
        check = subprocess.run(
            [haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stdout + check.stderr
        for port, app in zip(self.ports, self.apps, strict=True):
            wait_listening(port, app, f"mar-server on port {port}")
        self.lb = subprocess.Popen(
            [haproxy, "-db", "-f", str(cfg)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        wait_listening(self.lb_port, self.lb, "haproxy")

    def config(self) -> str:
        """The shipped configuration with this test's addresses and files."""
        text = SHIPPED.read_text()
        replaced = {
            "    log /dev/log local0\n": "",
            "bind :443 ": f"bind 127.0.0.1:{self.lb_port} ",
            "/etc/haproxy/mar-server.pem": str(self.cert.pem_file),
            "/etc/mar-server/tls/ca.pem": str(self.ca_file),
            **{f"127.0.0.1:{8441 + i}": f"127.0.0.1:{p}" for i, p in enumerate(self.ports)},
            **{  # fewer processes than the shipped three: their server lines go
                f"    server app{i + 1} 127.0.0.1:{8441 + i}\n": ""
                for i in range(len(self.ports), 3)
            },
        }
        for old, new in replaced.items():
            assert old in text, f"{SHIPPED.name} no longer has {old!r}"
            text = text.replace(old, new)
        return text

    def client(self, port: int | None = None) -> httpx.Client:
        ctx = ssl.create_default_context(cadata=self.cert.ca_pem)
        url = f"https://127.0.0.1:{port or self.lb_port}"
        return httpx.Client(base_url=url, verify=ctx, timeout=30)

    def stop(self) -> None:
        for process in [*self.apps, *([self.lb] if self.lb else [])]:
            _stop(process)


def retrying(call: Callable[[], httpx.Response], what: str) -> httpx.Response:
    """``call()`` until it answers below 500: a request caught by the killed process fails
    with a connection error or a 502/503 from HAProxy, and the tablet tries again."""
    deadline = time.monotonic() + 30
    while True:
        try:
            resp = call()
            if resp.status_code < 500:
                return resp
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{what} kept failing"
        time.sleep(0.1)


def authenticated(tab: SimTablet) -> httpx.Response:
    """Challenge and token, each through whichever process HAProxy picks."""
    nonce = tab.challenge()
    req = {"device_id": tab.device_id, "nonce": nonce, "signature": tab.sign_nonce(nonce)}
    resp = tab.http.post("/v1/auth/token", json=req)
    if resp.status_code == 200:
        tab.token = str(resp.json()["token"])
    return resp
