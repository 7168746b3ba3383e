"""Push benchmark: 10,000 queued entries over TLS 1.3 loopback, server verifying and committing
durably; budget ≥ 5,000 entries/s on SQLite and on PostgreSQL
(docs/architecture.md#performance-budgets).

:func:`bench_push` starts a real uvicorn server with a TLS 1.3-only context (test certificates
from ``trustme``, a dev dependency) on a free loopback port in a background thread, enrols a
simulated tablet, seals ``n`` entries beforehand (not timed: they are already queued on a
tablet), then times pushing them in batches with httpx over TLS until every batch is
acknowledged by a signed receipt and the server has reconciled them (a read of ``/v1/alerts``
waits for that). The same run measures bare HTTPS round trips (``GET
/health`` on a kept-alive connection) as a baseline. ``python -m sync.server.bench [PG_DSN]``
prints both stores' results as JSON.
"""

from __future__ import annotations

import json
import multiprocessing
import ssl
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from sync.protocol import Receipt, verify_receipt
from sync.server import config
from sync.server.app import create_app
from sync.server.checker import Mode, Verifier
from sync.server.core import ServerCore
from sync.server.runner import start_thread_server, tls13_context
from sync.server.simtablet import SimTablet


def _client_context(ca: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ca.configure_trust(ctx)
    return ctx


def bench_push(
    store_url: str | None = None,
    n: int = 10_000,
    batch: int = 1000,
    *,
    verify_mode: Mode = "processes",
    workers: int = 2,
    baseline_round_trips: int = 300,
) -> dict[str, Any]:
    """Runs the push benchmark; ``store_url`` None means a fresh SQLite file in a temp dir.

    A PostgreSQL DSN gets a fresh schema, dropped afterwards.
    """
    import trustme

    with tempfile.TemporaryDirectory(prefix="mar-bench-") as tmp:
        root = Path(tmp)
        schema = None
        url = store_url or str(root / "bench.sqlite3")
        if url.startswith("postgres"):
            schema = f"mar_bench_{uuid.uuid4().hex[:12]}"
            _pg(store_url or "", f"CREATE SCHEMA {schema}")
            sep = "&" if "?" in url else "?"
            url = f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
        try:
            return _run(root, url, n, batch, verify_mode, workers, baseline_round_trips, trustme)
        finally:
            if schema is not None:
                _pg(store_url or "", f"DROP SCHEMA {schema} CASCADE")


def _pg(dsn: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.encode())


def _run(
    root: Path,
    url: str,
    n: int,
    batch: int,
    verify_mode: Mode,
    workers: int,
    round_trips: int,
    trustme: Any,
) -> dict[str, Any]:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = root / "cert.pem", root / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    store = config.open_store(url)
    store.migrate()
    core = ServerCore(store, config.create_server_key(root / "data"))
    facility_id, _ = core.create_facility("Bench House", "UTC")
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe()
    child = ctx.Process(
        target=_serve_child,
        args=(url, str(root / "data"), str(cert), str(key), verify_mode, workers, child_end),
        name="mar-bench-server",
    )
    child.start()
    try:
        if not parent_end.poll(60):
            raise RuntimeError("the benchmark server did not start")
        port = int(parent_end.recv())
        with httpx.Client(
            base_url=f"https://127.0.0.1:{port}",
            verify=_client_context(ca),
            timeout=120,
            trust_env=False,
        ) as http:
            tab = SimTablet(http)
            tab.enroll(core.make_enrol_code(facility_id))
            tab.authenticate()
            entries = tab.make(n)
            http.get("/health").raise_for_status()
            started = time.perf_counter()
            for _ in range(round_trips):
                http.get("/health").raise_for_status()
            baseline = round_trips / (time.perf_counter() - started)
            tls_version = _negotiated(http)
            started = time.perf_counter()
            for i in range(0, n, batch):
                resp = tab.push(entries[i : i + batch])
                if resp.status_code != 200:
                    raise RuntimeError(f"push refused: {resp.status_code} {resp.text[:200]}")
            # the clock stops once the server has also reconciled every pushed entry (it does
            # that after each receipt; reading the alerts waits for it)
            tab.get("/v1/alerts").raise_for_status()
            elapsed = time.perf_counter() - started
            receipt = Receipt.model_validate(resp.json())
            if receipt.heads["ledger"] != n or not verify_receipt(receipt, core.public_key):
                raise RuntimeError("the last receipt does not acknowledge every entry")
    finally:
        parent_end.send("stop")
        child.join(30)
        if child.is_alive():
            child.terminate()
        store.close()
    return {
        "store": "postgresql" if url.startswith("postgres") else "sqlite",
        "entries": n,
        "batch": batch,
        "verify": f"{verify_mode}x{workers}",
        "seconds": round(elapsed, 3),
        "entries_per_s": round(n / elapsed),
        "https_round_trips_per_s": round(baseline),
        "tls": tls_version,
        "budget_entries_per_s": 5000,
    }


def _serve_child(
    url: str, data: str, cert: str, key: str, mode: Mode, workers: int, conn: Any
) -> None:
    """The server process: like ``mar-server serve``, on a free loopback port it reports.

    Runs until the parent sends anything on ``conn``; then shuts down cleanly (verifier pool
    included).
    """
    core = ServerCore(config.open_store(url), config.load_server_key(Path(data)))
    verifier = Verifier(mode, workers)
    server = start_thread_server(
        create_app(core, verifier=verifier), ssl_context=tls13_context(cert, key)
    )
    try:
        conn.send(server.port)
        conn.recv()
    finally:
        server.stop()
        verifier.close()
        core.store.close()


def _negotiated(http: httpx.Client) -> str:
    """The TLS version of a fresh connection made with the same client settings."""
    with http.stream("GET", "/health") as resp:
        stream = resp.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        return str(ssl_object.version()) if ssl_object is not None else "unknown"


if __name__ == "__main__":
    results = [bench_push()]
    if len(sys.argv) > 1:
        results.append(bench_push(sys.argv[1]))
    print(json.dumps(results, indent=2))
