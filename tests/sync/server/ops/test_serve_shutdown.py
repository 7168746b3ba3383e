"""Stopping ``mar-server serve`` as a service manager does: SIGTERM to the whole process group
(systemd's default), with signature-checking worker processes running. The server finishes,
shuts its worker pool down (no leaked semaphores reported), exits 0, and leaves no process
behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.server.cli import main
from tests.processes import free_port, wait_listening


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
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sync.server.cli", *common, "serve", "--insecure-http-loopback",
         "--port", str(port), "--verify-workers", "2", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_listening(port, process, "mar-server serve")
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
