"""The loop of the crash tests' child processes (``tests/storage/kill_child.py``,
``tests/storage/rekey_child.py``): the parent writes a line per round; each line forks a worker
that runs ``work()`` until the parent SIGKILLs it; "reap" waits for the killed worker. Forking
from a process that already imported everything keeps each round fast."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable


def serve_forks(work: Callable[[], None], *, kill_at_end: bool) -> None:
    child = 0
    for line in sys.stdin:
        if line.strip() == "reap":
            if child:
                os.waitpid(child, 0)
                child = 0
            os.write(1, b"REAPED\n")
            continue
        child = os.fork()
        if child == 0:
            try:
                work()
            finally:
                os._exit(1)
        os.write(1, f"PID {child}\n".encode())
    if child:
        if kill_at_end:
            os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
