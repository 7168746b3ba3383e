"""Running the API on uvicorn: TLS 1.3-only contexts, the uvicorn settings, a thread server.

The server refuses TLS below 1.3 (``SSLContext.minimum_version``) and is given to uvicorn as a
ready context through ``Config(ssl_context_factory=...)``. Serving in the foreground, with the
plain-HTTP policy (loopback only, only when explicitly asked for), is
:func:`sync.server.serving.serve`; the thread server here is for tests and benchmarks that run
a server inside their own process.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn


def tls13_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server context that speaks TLS 1.3 only. Raises ``ssl.SSLError``/``OSError``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def uvicorn_config(
    app: Any,
    *,
    ssl_context: ssl.SSLContext | None,
    log_level: str = "warning",
    trusted_proxies: tuple[str, ...] = (),
    **extra: Any,
) -> uvicorn.Config:
    """uvicorn's settings for the API. ``trusted_proxies`` (addresses or CIDR networks):
    ``X-Forwarded-For``/``-Proto`` are honoured from those peers only, so the client address
    the app and the access log see is the tablet's; none (the default) ignores the headers."""
    factory = None if ssl_context is None else (lambda _config, _default: ssl_context)
    return uvicorn.Config(
        app,
        ssl_context_factory=factory,
        log_level=log_level,
        server_header=False,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies),
        timeout_keep_alive=30,
        **extra,
    )


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
    app: Any,
    *,
    ssl_context: ssl.SSLContext | None,
    host: str = "127.0.0.1",
    trusted_proxies: tuple[str, ...] = (),
) -> ThreadServer:
    """Starts serving ``app`` on ``host`` port 0 (a free port); returns once it accepts.
    ``trusted_proxies`` as for :func:`uvicorn_config`.

    uvicorn binds the port itself: handing it a pre-bound socket (``sockets=``) made every
    request wait ~45 ms on loopback in our measurements.
    """
    server = uvicorn.Server(
        uvicorn_config(
            app, ssl_context=ssl_context, host=host, port=0, trusted_proxies=trusted_proxies
        )
    )
    thread = threading.Thread(target=server.run, name="mar-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    return ThreadServer(server, thread, host, port, ssl_context is not None)
