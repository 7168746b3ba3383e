"""Reported, no budget: push through HAProxy (the shipped configuration, TLS 1.3 at the proxy
and to each process) to 1, 2 and 3 ``mar-server serve`` processes on one PostgreSQL schema.

Four simulated tablets push 2,500 entries each, concurrently, in batches of 500; the clock
stops when every batch is acknowledged and a read of the alerts has waited for the
reconciliation. Each process checks signatures in 2 worker processes, as ``serve`` does by
default. The same-run baseline is the same push straight to one process, without the proxy.
On a 2-core machine more processes cannot add CPU: the rows show what the proxy and extra
processes cost, not how the server scales on a bigger host.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

from mar_desktop.envelope import Entry
from sync.server.cli import main
from sync.server.serving import open_core
from sync.server.simtablet import SimTablet
from tests.bench.table import Figure
from tests.sync.server.conftest import fresh_pg_schema
from tests.sync.server.ops.haproxy_cluster import Cluster, authenticated, retrying

TABLETS = 4
PER_TABLET = 2_500
BATCH = 500


def run() -> list[Figure]:
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if haproxy is None:
        return [Figure("push through HAProxy", 0, "entries/s", "reported", True, "no haproxy")]
    cores = os.cpu_count() or 1
    direct = _rate(haproxy, 1, through_proxy=False)
    figures = []
    for processes in (1, 2, 3):
        rate = _rate(haproxy, processes)
        figures.append(Figure(
            f"push through HAProxy, {processes} process(es), PostgreSQL, {TABLETS} tablets",
            rate, "entries/s", "reported", True,
            f"{direct:,.0f}/s to 1 process without the proxy; on {cores} cores this shows "
            "overhead, not scaling"))
    return figures


def _rate(haproxy: str, processes: int, *, through_proxy: bool = True) -> float:
    with tempfile.TemporaryDirectory(prefix="mar-bench-lb-") as tmp, fresh_pg_schema() as dsn:
        cluster = Cluster(Path(tmp), dsn, processes, verify_workers=2)
        args = ["--data", str(cluster.data), "--db", dsn, "init", "--facility-name", "Bench"]
        with contextlib.redirect_stdout(io.StringIO()):  # the first admin's password
            made = main(args)
        if made != 0:
            raise RuntimeError("mar-server init failed")
        core = open_core(cluster.data, dsn)
        try:
            (facility_id,) = core.store.facility_ids()
            cluster.start(haproxy)
            tablets = []
            for _ in range(TABLETS):
                port = None if through_proxy else cluster.ports[0]
                tab = SimTablet(cluster.client(port))
                tab.enroll(core.make_enrol_code(facility_id))
                retrying(partial(authenticated, tab), "authentication").raise_for_status()
                tablets.append((tab, tab.make(PER_TABLET)))
            started = time.perf_counter()
            threads = [threading.Thread(target=_push_all, args=pair) for pair in tablets]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            tablets[0][0].get("/v1/alerts").raise_for_status()
            elapsed = time.perf_counter() - started
            for tab, _ in tablets:
                tab.http.close()
            stored = sum(core.store.heads(t.device_id)["ledger"].seq for t, _ in tablets)
            if stored != TABLETS * PER_TABLET:
                raise RuntimeError(f"only {stored} entries stored")
            return TABLETS * PER_TABLET / elapsed
        finally:
            cluster.stop()
            core.store.close()


def _push_all(tab: SimTablet, entries: list[Entry]) -> None:
    for i in range(0, len(entries), BATCH):
        batch = entries[i : i + BATCH]
        retrying(partial(tab.push, batch), "push").raise_for_status()
