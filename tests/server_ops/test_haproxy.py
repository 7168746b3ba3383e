"""Three ``mar-server serve`` processes on one PostgreSQL schema behind a real HAProxy.

The shipped ``packaging/haproxy/mar-server.cfg`` is used with only its addresses and file paths
replaced: TLS 1.3 at HAProxy and to each process, round robin, ``/health`` checks. A dozen
simulated tablets enrol, authenticate, push and pull concurrently through it (a token issued
by one process is used on the others); two of them record the same dose at the same moment;
one process is killed with SIGKILL mid-run and the tablets retry what was not acknowledged.

Then: every entry is stored exactly once, every acknowledged entry is there, exactly one
double-dose alert exists (whichever processes reconciled it), and ``mar-server verify`` is
clean. CI installs haproxy (``.ci/run``) and this test never skips when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from mar_desktop import kinds
from mar_desktop.envelope import Entry, chain_of, parse_raw
from sync.server.app import alert_infos
from sync.server.cli import main
from sync.server.devcert import make_loopback_cert
from sync.server.serving import open_core
from sync.server.simtablet import SimTablet, administration_body
from tests.server.conftest import fresh_pg_schema

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "packaging" / "haproxy" / "mar-server.cfg"
PROCESSES = 3
TABLETS = 12
BATCHES = 8
PER_BATCH = 12
SAME_DOSE_BATCH = 3
DEADLINE = 60.0


def _haproxy() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is not installed; CI must run this test (.ci/run installs it)")
        pytest.skip("haproxy is not installed (apt-get install -y haproxy); CI runs this test")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"{what} exited: {err[-2000:]}")
        assert time.monotonic() < deadline, f"{what} did not start listening"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)


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

    def __init__(self, tmp: Path, dsn: str) -> None:
        self.tmp, self.dsn = tmp, dsn
        self.data = tmp / "data"
        self.cert = make_loopback_cert(tmp / "tls")
        self.ca_file = tmp / "ca.pem"
        self.ca_file.write_text(self.cert.ca_pem)
        self.ports = [_free_port() for _ in range(PROCESSES)]
        self.lb_port = _free_port()
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
                     "--verify-workers", "0", "--log-level", "warning"],
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
            _wait_listening(port, app, f"mar-server on port {port}")
        self.lb = subprocess.Popen(
            [haproxy, "-db", "-f", str(cfg)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        _wait_listening(self.lb_port, self.lb, "haproxy")

    def config(self) -> str:
        """The shipped configuration with this test's addresses and files."""
        text = SHIPPED.read_text()
        replaced = {
            "    log /dev/log local0\n": "",
            "bind :443 ": f"bind 127.0.0.1:{self.lb_port} ",
            "/etc/haproxy/mar-server.pem": str(self.cert.pem_file),
            "/etc/mar-server/tls/ca.pem": str(self.ca_file),
            **{f"127.0.0.1:{8441 + i}": f"127.0.0.1:{p}" for i, p in enumerate(self.ports)},
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


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    haproxy = _haproxy()
    with fresh_pg_schema() as dsn:
        made = Cluster(tmp_path, dsn)
        args = ["--data", str(made.data), "--db", dsn, "init", "--facility-name", "Maple House"]
        assert main([*args, "--json"]) == 0
        try:
            made.start(haproxy)
            yield made
        finally:
            made.stop()


def _retrying(call: Any, what: str) -> httpx.Response:
    """``call()`` until it answers below 500: a request caught by the killed process fails
    with a connection error or a 502/503 from HAProxy, and the tablet tries again."""
    deadline = time.monotonic() + 30
    while True:
        try:
            resp: httpx.Response = call()
            if resp.status_code < 500:
                return resp
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{what} kept failing"
        time.sleep(0.1)


class Run:
    """What the tablets did: every entry they sealed, the ones acknowledged, the device ids."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sealed: dict[str, Entry] = {}
        self.acked: set[str] = set()
        self.pushes = 0
        self.half = threading.Event()
        self.same_dose = threading.Barrier(2)
        self.errors: list[BaseException] = []


def _body(tablet: int, n: int) -> dict[str, Any]:
    """A dose of an order of this tablet alone (no double dose with any other tablet)."""
    body = administration_body(n)
    body["order_id"] = f"ord-t{tablet}-{n}"
    return body


def _tablet(cluster: Cluster, code: str, number: int, run: Run) -> None:
    try:
        with cluster.client() as http:
            tab = SimTablet(http)
            _retrying(lambda: http.get("/health"), "health")
            tab.enroll(code, f"cart-{number}")
            _retrying(lambda: _authenticated(tab), "authentication")
            after = 0
            for batch in range(BATCHES):
                entries = [tab.seal(body=_body(number, batch * 100 + k)) for k in range(PER_BATCH)]
                entries += tab.make(3, "audit.resident_viewed")
                if number in (0, 1) and batch == SAME_DOSE_BATCH:
                    entries.append(tab.seal(body=administration_body(999)))
                    run.same_dose.wait(timeout=30)  # both carts push the same dose at once
                with run.lock:
                    run.sealed.update({e.id: e for e in entries})
                resp = _retrying(partial(tab.push, entries), "push")
                assert resp.status_code == 200, resp.text
                heads = resp.json()["heads"]
                assert all(heads[chain_of(e.kind)] >= e.seq for e in entries)
                with run.lock:
                    run.acked.update(e.id for e in entries)
                    run.pushes += 1
                    if run.pushes >= TABLETS * BATCHES // 2:
                        run.half.set()
                pull = partial(tab.get, "/v1/feed", after=after, limit=500)
                page = _retrying(pull, "pull")
                assert page.status_code == 200, page.text
                after = page.json()["next"]
    except BaseException as exc:
        with run.lock:
            run.errors.append(exc)
        run.same_dose.abort()


def _authenticated(tab: SimTablet) -> httpx.Response:
    """Challenge and token, each through whichever process HAProxy picks."""
    nonce = tab.challenge()
    req = {"device_id": tab.device_id, "nonce": nonce, "signature": tab.sign_nonce(nonce)}
    resp = tab.http.post("/v1/auth/token", json=req)
    if resp.status_code == 200:
        tab.token = str(resp.json()["token"])
    return resp


def _double_doses(http: httpx.Client, token: str) -> list[str]:
    resp = _retrying(
        lambda: http.get("/v1/alerts", headers={"Authorization": f"Bearer {token}"}), "alerts"
    )
    assert resp.status_code == 200, resp.text
    return [a["alert_id"] for a in resp.json()["alerts"] if a["alert_type"] == "double_dose"]


def test_three_processes_behind_haproxy_lose_nothing_and_alert_once(cluster: Cluster) -> None:
    started = time.monotonic()
    core = open_core(cluster.data, cluster.dsn)
    try:
        (facility_id,) = core.store.facility_ids()
        codes = [core.make_enrol_code(facility_id) for _ in range(TABLETS)]
        run = Run()
        threads = [
            threading.Thread(target=_tablet, args=(cluster, codes[i], i, run), name=f"tab-{i}")
            for i in range(TABLETS)
        ]
        for thread in threads:
            thread.start()
        assert run.half.wait(DEADLINE), f"not half way: {run.pushes} pushes, {run.errors}"
        victim = cluster.apps[1]
        victim.send_signal(signal.SIGKILL)  # mid-run, with pushes in flight
        for thread in threads:
            thread.join(DEADLINE)
        assert not run.errors, run.errors
        assert victim.wait(5) == -signal.SIGKILL
        assert len(run.acked) == len(run.sealed) == TABLETS * BATCHES * (PER_BATCH + 3) + 2

        # every entry stored exactly once, each acknowledged one included
        stored: list[str] = []
        for device in core.store.devices(facility_id):
            if not device.is_server:
                for chain in ("ledger", "audit"):
                    stored += [e.entry_id for e in core.store.entries_of(device.device_id, chain)]
        tablet_ids = [i for i in stored if i in run.sealed]
        assert len(tablet_ids) == len(set(tablet_ids))
        assert set(tablet_ids) == run.acked

        # one double-dose alert, whichever process saw it, read through every live process
        with cluster.client() as http:
            token = _authenticated_token(http, core, facility_id)
            deadline = time.monotonic() + 15
            while not _double_doses(http, token) and time.monotonic() < deadline:
                time.sleep(0.2)
            for port in (cluster.ports[0], cluster.ports[2], None):
                with cluster.client(port) as direct:
                    assert len(_double_doses(direct, token)) == 1
        doubles = [a for a in alert_infos(core, facility_id) if a.alert_type == "double_dose"]
        assert len(doubles) == 1
        (alert,) = doubles
        body = kinds.AlertRaised.model_validate(parse_raw(alert.entry.encode()).body)
        dose = administration_body(999)["order_id"]
        same = {i for i, e in run.sealed.items() if e.body.get("order_id") == dose}
        assert set(body.related_entry_ids) == same and len(same) == 2

        verify = subprocess.run(
            [sys.executable, "-m", "sync.server.cli", "verify"],
            env=cluster.env(), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        core.store.close()
    assert time.monotonic() - started < DEADLINE


def _authenticated_token(http: httpx.Client, core: Any, facility_id: str) -> str:
    """A token of a fresh tablet, to read the alerts as a tablet does."""
    tab = SimTablet(http)
    tab.enroll(core.make_enrol_code(facility_id), "reader")
    resp = _retrying(lambda: _authenticated(tab), "authentication")
    assert resp.status_code == 200, resp.text
    return tab.token


def test_the_shipped_config_is_valid_haproxy(tmp_path: Path) -> None:
    haproxy = _haproxy()
    made = Cluster(tmp_path, "postgresql://unused")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(made.config())
    check = subprocess.run(
        [haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
