"""Stopping ``mar-server serve`` as a service manager does: SIGTERM to the whole process group
(systemd's default), with signature-checking worker processes running. The server finishes,
shuts its worker pool down (no leaked semaphores reported), exits 0, and leaves no process
behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.server.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("target", ["group", "server only"])
def test_sigterm_stops_serve_cleanly_with_worker_processes(tmp_path: Path, target: str) -> None:
    data, db = tmp_path / "data", tmp_path / "server.sqlite3"
    common = ["--data", str(data), "--db", str(db)]
    assert main([*common, "init", "--facility-name", "Maple House", "--json"]) == 0
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sync.server.cli", *common, "serve", "--insecure-http-loopback",
         "--port", str(port), "--verify-workers", "2", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "mar-server serve exited"
            assert time.monotonic() < deadline, "mar-server serve did not start"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        if target == "group":
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "leaked" not in err and "Traceback" not in err, err
        deadline = time.monotonic() + 10
        while _group_alive(process.pid):
            assert time.monotonic() < deadline, "a worker process outlived the server"
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
