"""Server processes the tests start: a free loopback port, and waiting until one listens."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from typing import Any

import pytest


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(
    port: int, process: subprocess.Popen[Any], what: str, timeout: float = 30.0
) -> None:
    """Returns once ``127.0.0.1:port`` accepts a connection; fails the test (with the tail of
    the process's stderr, when it was piped) if ``process`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            err = process.communicate()[1] or ""
            pytest.fail(f"{what} exited: {str(err)[-2000:]}")
        assert time.monotonic() < deadline, f"{what} did not start listening"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
