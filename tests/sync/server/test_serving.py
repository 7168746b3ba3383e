"""The server's one entry point (:mod:`sync.server.serving`), as ``mar-server serve`` and the
demo's embedded server use it: open a data folder, serve until told to stop."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from mar_desktop.errors import StorageError, TransportRefused
from sync.server import config
from sync.server.serving import ServeOptions, open_core, serve


def test_open_core_makes_the_key_once_and_then_loads_it(tmp_path: Path) -> None:
    db = str(tmp_path / "server.sqlite3")
    with pytest.raises(StorageError, match="no server key"):
        open_core(tmp_path, db)
    core = open_core(tmp_path, db, create_key=True)
    key = core.public_key
    core.store.close()
    again = open_core(tmp_path, db, create_key=True)
    try:
        assert again.public_key == key
        assert (tmp_path / config.KEY_FILE).stat().st_mode & 0o077 == 0
    finally:
        again.store.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (ServeOptions(host="127.0.0.1"), "without TLS"),
        (ServeOptions(host="0.0.0.0", insecure_http_loopback=True), "loopback"),
    ],
)
def test_plain_http_is_refused_unless_asked_for_on_loopback(
    options: ServeOptions, message: str
) -> None:
    with pytest.raises(TransportRefused, match=message):
        options.check()
    ServeOptions(host="localhost", insecure_http_loopback=True).check()


def test_serve_reports_its_port_and_stops_when_until_returns(tmp_path: Path) -> None:
    core = open_core(tmp_path, str(tmp_path / "server.sqlite3"), create_key=True)
    stop = threading.Event()
    ports: list[int] = []
    answered: list[int] = []
    served = threading.Event()

    def ready(port: int) -> None:
        ports.append(port)
        answered.append(httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code)
        served.set()

    options = ServeOptions(port=0, insecure_http_loopback=True, verify_workers=0)
    server = threading.Thread(
        target=serve, args=(core, options), kwargs={"on_ready": ready, "until": stop.wait}
    )
    try:
        server.start()
        assert served.wait(15)
        assert ports[0] > 0
        assert answered == [200]
    finally:
        stop.set()
        server.join(15)
        core.store.close()
    assert not server.is_alive()
