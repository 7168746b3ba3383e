"""Running the API on uvicorn: TLS 1.3-only contexts, a foreground server and a thread server.

The server refuses TLS below 1.3 (``SSLContext.minimum_version``) and is given to uvicorn as a
ready context through ``Config(ssl_context_factory=...)``. Plain HTTP is only ever served on a
loopback address and only when explicitly asked for (tests, a TLS-terminating sidecar on the
same host).
"""

from __future__ import annotations

import ipaddress
import signal
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from mar_desktop.errors import TransportRefused


def tls13_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server context that speaks TLS 1.3 only. Raises ``ssl.SSLError``/``OSError``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_plain_http(host: str, allowed: bool) -> None:
    """Raises ``TransportRefused`` unless plain HTTP was asked for on a loopback address."""
    if not allowed:
        raise TransportRefused("refusing to serve without TLS: give --cert and --key")
    if not is_loopback(host):
        raise TransportRefused("plain HTTP is only allowed on a loopback address")


def uvicorn_config(
    app: Any, *, ssl_context: ssl.SSLContext | None, log_level: str = "warning", **extra: Any
) -> uvicorn.Config:
    factory = None if ssl_context is None else (lambda _config, _default: ssl_context)
    return uvicorn.Config(
        app,
        ssl_context_factory=factory,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=30,
        **extra,
    )


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    log_level: str = "info",
) -> None:
    """Serves in the foreground until SIGTERM or Ctrl-C, then returns normally once uvicorn has
    finished the requests in flight and run the application's shutdown, so the caller's
    clean-up (``finally``) runs. Main thread only (it sets signal handlers)."""
    server = uvicorn.Server(
        uvicorn_config(app, ssl_context=ssl_context, log_level=log_level, host=host, port=port)
    )
    # uvicorn re-raises the signal that stopped it once it is done; with the default handlers
    # that ends the process before any clean-up of the caller (worker pools, semaphores) runs.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Stopped(Exception):
    """Raised by the stop signals' handler once uvicorn hands the signal back."""


def _stopped(signum: int, frame: object) -> None:
    raise _Stopped


@dataclass
class ThreadServer:
    """A uvicorn server on a background thread, bound to a free loopback port."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int
    https: bool

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_thread_server(
    app: Any, *, ssl_context: ssl.SSLContext | None, host: str = "127.0.0.1"
) -> ThreadServer:
    """Starts serving ``app`` on ``host`` port 0 (a free port); returns once it accepts.

    uvicorn binds the port itself: handing it a pre-bound socket (``sockets=``) made every
    request wait ~45 ms on loopback in our measurements.
    """
    server = uvicorn.Server(uvicorn_config(app, ssl_context=ssl_context, host=host, port=0))
    thread = threading.Thread(target=server.run, name="mar-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    return ThreadServer(server, thread, host, port, ssl_context is not None)
