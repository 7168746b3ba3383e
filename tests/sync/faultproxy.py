"""A fault-injecting TCP proxy on loopback, for sync tests.

It sits between tablet and server at the TCP level (TLS stays end to end) and, per chunk of
data, at random (seeded): drops the connection before forwarding a request, delays a chunk,
resets the connection in the middle of a response (a real RST, at once), or truncates a response
(forwards a part, then shuts the connection down cleanly, at once). Threads: one acceptor plus
two pumps per connection, all daemons;
:meth:`FaultProxy.close` stops accepting and closes every socket.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Probabilities per forwarded chunk."""

    drop_request: float = 0.03
    delay: float = 0.05
    max_delay: float = 0.02
    reset_response: float = 0.015
    truncate_response: float = 0.015


@dataclass
class FaultProxy:
    upstream: tuple[str, int]
    faults: Faults = field(default_factory=Faults)
    seed: int = 1
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # a seeded test fault schedule
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._socks: list[socket.socket] = []
        self._resetting: set[socket.socket] = set()
        self._closed = False
        self._closing = threading.Event()
        self.threads: list[threading.Thread] = []
        self._start(self._accept)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _roll(self, p: float) -> bool:
        with self._lock:
            return self._rng.random() < p

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):  # forward each chunk at once: Nagle plus delayed
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # ACKs cost 40 ms
            with self._lock:
                self._socks += [client, server]
            self._count("connections")
            self._start(self._pump, client, server, True)
            self._start(self._pump, server, client, False)

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name="faultproxy", daemon=True)
        with self._lock:
            self.threads.append(thread)
        thread.start()

    def _reset(self, sock: socket.socket) -> None:
        """A real RST now: linger (1, 0), wake the other pump's ``recv`` on this socket
        (``SHUT_RD`` sends nothing), then close. A plain ``close`` while another thread is
        blocked in ``recv`` on the socket sends nothing at all until that ``recv`` returns —
        the tablet then waited for its read timeout instead of failing at once."""
        with self._lock:
            self._resetting.add(sock)  # the other pump must not FIN it first
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RD)
        with contextlib.suppress(OSError):
            sock.close()

    def _pump(self, src: socket.socket, dst: socket.socket, upward: bool) -> None:
        f = self.faults
        reset = False
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upward and self._roll(f.drop_request):
                    self._count("drop_request")
                    break
                if self._roll(f.delay):
                    self._count("delay")
                    self._closing.wait(f.max_delay)  # close() ends a long delay at once
                if not upward and self._roll(f.reset_response):
                    self._count("reset_response")
                    dst.sendall(data[: len(data) // 2])
                    reset = True
                    break
                if not upward and self._roll(f.truncate_response):
                    self._count("truncate_response")
                    dst.sendall(data[: max(1, len(data) // 3)])
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            if reset:
                self._reset(dst)
            # shutdown (not only close) sends the FIN at once and wakes the other pump even
            # while it is blocked in recv on the same socket
            for sock in (dst, src):
                with self._lock:
                    resetting = sock in self._resetting
                if not resetting:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

    def close(self, join: float = 5.0) -> None:
        """Stops accepting, closes every socket, ends delays and joins the proxy's threads."""
        self._closed = True
        self._closing.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() (close alone does not)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a pump blocked in recv
            with contextlib.suppress(OSError):
                sock.close()
        with self._lock:
            threads = list(self.threads)
        deadline = time.monotonic() + join
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
