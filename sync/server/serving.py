"""The server's one public entry point: open a data folder, then serve its API until told to stop.

``mar-server serve`` (:mod:`sync.server.cli`) and the demo's embedded server (the child process
of :mod:`sync.server.embedded`) both start the server through :func:`open_core` and
:func:`serve`, so the demo runs exactly what a facility deploys: the same store opening and
migration, the same app, the same signature checker, the same TLS 1.3 policy.

Threads: :func:`serve` runs uvicorn in the calling thread and returns when the server has
stopped. In the process's main thread SIGTERM and SIGINT stop it gracefully (requests in flight
are finished) and :func:`serve` then returns normally, so the caller's clean-up runs; ``on_ready``
and ``until`` run on one daemon thread of their own.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mar_desktop.errors import TransportRefused
from sync.server import config
from sync.server.core import ServerCore
from sync.server.tablet_version import OLDEST_ACCEPTED_TABLET

if TYPE_CHECKING:
    import uvicorn


def open_core(
    data: Path,
    db: str | None = None,
    *,
    create_key: bool = False,
    secrets_key_file: str | None = None,
) -> ServerCore:
    """The server over the data folder ``data``: its store (``db``: a SQLite path or a
    ``postgresql://`` DSN; default ``MAR_SERVER_DB``, else the SQLite file in ``data``)
    migrated to the current schema, its signing key (made first if ``create_key`` and there
    is none yet) and its credential secrets unlocked with the secrets key
    (``secrets_key_file``, else ``MAR_SECRETS_KEY_FILE``, else derived from the signing key).
    The caller closes ``core.store``. Raises ``StorageError`` / ``WrongKey`` (the store is
    closed again then; a wrong secrets key writes nothing)."""
    from sync.server.secrets_at_rest import configured_key

    secrets_key = configured_key(secrets_key_file)  # before the database is touched
    store = config.open_store(config.db_url(data, db))
    try:
        store.migrate()
        if create_key and not (data / config.KEY_FILE).exists():
            signer = config.create_server_key(data)
        else:
            signer = config.load_server_key(data)
        core = ServerCore(store, signer, secrets_key=secrets_key)
        store.unlock_secrets()  # a wrong key stops the start here, before anything is written
        return core
    except BaseException:
        store.close()
        raise


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Where and how to serve. ``port`` 0 takes a free port (``on_ready`` is told which).
    ``ssl_context`` None serves plain HTTP, refused unless ``insecure_http_loopback`` and
    ``host`` is a loopback address. ``verify_workers`` > 0 checks pushed signatures in that
    many processes, 0 in ``verify_threads`` threads of this process. ``trusted_proxies``:
    load balancers whose ``X-Forwarded-For`` names the client (:func:`config.trusted_proxies`);
    with any, ``/metrics`` always needs its token. ``oldest_tablet``: the oldest tablet app
    version served (:func:`sync.server.tablet_version.oldest_tablet` checked it)."""

    host: str = "127.0.0.1"
    port: int = 8443
    ssl_context: ssl.SSLContext | None = None
    insecure_http_loopback: bool = False
    verify_workers: int = 2
    verify_threads: int = 2
    log_level: str = "info"
    trusted_proxies: tuple[str, ...] = ()
    oldest_tablet: str = OLDEST_ACCEPTED_TABLET

    def check(self) -> None:
        """Raises ``TransportRefused`` unless these options may be served (TLS, or plain HTTP
        asked for on a loopback address)."""
        if self.ssl_context is not None:
            return
        if not self.insecure_http_loopback:
            raise TransportRefused("refusing to serve without TLS: give --cert and --key")
        if not is_loopback(self.host):
            raise TransportRefused("plain HTTP is only allowed on a loopback address")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    core: ServerCore,
    options: ServeOptions,
    *,
    on_ready: Callable[[int], None] | None = None,
    until: Callable[[], object] | None = None,
) -> None:
    """Serves ``core``'s API in the calling thread until SIGINT/SIGTERM, or until ``until``
    returns (it is called once the server accepts, after ``on_ready(port)``). Does not close
    ``core.store``. Raises ``TransportRefused`` for plain HTTP not allowed by ``options``;
    uvicorn's ``SystemExit(1)`` if it cannot listen (e.g. the port is taken)."""
    # Imported here, not at the top: uvicorn and the app take about a second to import, which
    # the other mar-server commands (init, enroll-code, verify...) need not pay.
    import uvicorn

    from sync.server.app import create_app
    from sync.server.checker import Verifier
    from sync.server.runner import uvicorn_config

    options.check()
    from sync.server.upgrade_orders import mark_existing_orders

    mark_existing_orders(core)  # once per facility: the orders in use before verification
    verifier = (
        Verifier("processes", options.verify_workers)
        if options.verify_workers
        else Verifier("threads", options.verify_threads)
    )
    try:
        server = uvicorn.Server(
            uvicorn_config(
                create_app(
                    core,
                    verifier=verifier,
                    behind_proxy=bool(options.trusted_proxies),
                    oldest_tablet=options.oldest_tablet,
                ),
                ssl_context=options.ssl_context,
                log_level=options.log_level,
                trusted_proxies=options.trusted_proxies,
                host=options.host,
                port=options.port,
            )
        )
        stopped = threading.Event()
        if on_ready is not None or until is not None:
            threading.Thread(
                target=_watch,
                args=(server, stopped, on_ready, until),
                name="mar-server-watch",
                daemon=True,
            ).start()
        try:
            with _stop_signals_return():
                server.run()
        finally:
            stopped.set()
    finally:
        verifier.close()


class _Stopped(Exception):
    """Raised by the stop signals' handler once uvicorn hands the signal back."""


def _stopped(_signum: int, _frame: object) -> None:
    raise _Stopped


@contextlib.contextmanager
def _stop_signals_return() -> Iterator[None]:
    """In the main thread: SIGTERM/SIGINT end the block normally. uvicorn handles them while it
    runs (finishing the requests in flight) and then raises the signal again for the handlers it
    found; with the default ones that would end the process before the caller's clean-up (the
    verifier's worker pool, the store) runs. Elsewhere (a test's thread) nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watch(
    server: uvicorn.Server,
    stopped: threading.Event,
    on_ready: Callable[[int], None] | None,
    until: Callable[[], object] | None,
) -> None:
    """Waits until ``server`` accepts, tells ``on_ready`` its port, then ends the server once
    ``until`` returns. Gives up if the server stops first."""
    while not server.started:
        if stopped.wait(0.01):
            return
    if on_ready is not None:
        on_ready(int(server.servers[0].sockets[0].getsockname()[1]))
    if until is not None:
        until()
        server.should_exit = True
