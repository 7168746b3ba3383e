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

import signal
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
from sync.server.serving import open_core
from sync.server.simtablet import SimTablet, administration_body
from tests.sync.server.conftest import fresh_pg_schema
from tests.sync.server.ops.haproxy_cluster import (
    ROOT,
    Cluster,
    authenticated,
    haproxy_or_skip,
    retrying,
)

TABLETS = 12
BATCHES, PER_BATCH = 8, 12
"""Each tablet pushes BATCHES batches of PER_BATCH doses and 3 audit entries, pulling between."""
SAME_DOSE_BATCH = 3
"""The batch in which tablets 0 and 1 both add the same dose, pushed at the same moment."""
DEADLINE = 60.0
"""Seconds the whole test may take."""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    haproxy = haproxy_or_skip()
    with fresh_pg_schema() as dsn:
        made = Cluster(tmp_path, dsn)
        args = ["--data", str(made.data), "--db", dsn, "init", "--facility-name", "Maple House"]
        assert main([*args, "--json"]) == 0
        try:
            made.start(haproxy)
            yield made
        finally:
            made.stop()


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
            retrying(lambda: http.get("/health"), "health")
            tab.enroll(code, f"cart-{number}")
            retrying(lambda: authenticated(tab), "authentication")
            after = 0
            for batch in range(BATCHES):
                entries = [tab.seal(body=_body(number, batch * 100 + k)) for k in range(PER_BATCH)]
                entries += tab.make(3, "audit.resident_viewed")
                if number in (0, 1) and batch == SAME_DOSE_BATCH:
                    entries.append(tab.seal(body=administration_body(999)))
                    run.same_dose.wait(timeout=30)  # both carts push the same dose at once
                with run.lock:
                    run.sealed.update({e.id: e for e in entries})
                resp = retrying(partial(tab.push, entries), "push")
                assert resp.status_code == 200, resp.text
                heads = resp.json()["heads"]
                assert all(heads[chain_of(e.kind)] >= e.seq for e in entries)
                with run.lock:
                    run.acked.update(e.id for e in entries)
                    run.pushes += 1
                    if run.pushes >= TABLETS * BATCHES // 2:
                        run.half.set()
                pull = partial(tab.get, "/v1/feed", after=after, limit=500)
                page = retrying(pull, "pull")
                assert page.status_code == 200, page.text
                after = page.json()["next"]
    except BaseException as exc:
        with run.lock:
            run.errors.append(exc)
        run.same_dose.abort()


def _double_doses(http: httpx.Client, token: str) -> list[str]:
    resp = retrying(
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
    resp = retrying(lambda: authenticated(tab), "authentication")
    assert resp.status_code == 200, resp.text
    return tab.token


def test_the_shipped_config_is_valid_haproxy(tmp_path: Path) -> None:
    haproxy = haproxy_or_skip()
    made = Cluster(tmp_path, "postgresql://unused")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(made.config())
    check = subprocess.run(
        [haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
