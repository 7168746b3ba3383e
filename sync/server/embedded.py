"""The demo's embedded reference server: ``mar-server`` logic in a child process on loopback TLS.

Why a child process: the server (uvicorn, verification, SQLite commits) gets its own interpreter
and GIL, so serving a push never stalls the tablet app's GUI thread.

Parent side, :meth:`EmbeddedServer.start` (any thread but the GUI's; blocks until the child
serves: about a second, mostly the child's imports):

1. makes a throwaway CA and a ``127.0.0.1`` certificate (:mod:`sync.server.devcert`);
2. starts ``python -m sync.server.embedded`` with the server folder, the certificate, and the
   facility's name and time zone;
3. the child creates the server key, the SQLite store, the facility and a one-time enrolment
   code (what ``mar-server init`` does, without a first admin: the demo tablet seeds its
   staff), serves the API with TLS 1.3 on a free loopback port through the same entry point
   as ``mar-server serve`` (:func:`sync.server.serving.serve`), and writes ONE line of JSON to
   its stdout once the port accepts: ``{"port", "facility_id", "code"}``;
4. the parent reads that line and returns the URL, code and CA PEM for :func:`sync.enroll.enroll`.

The child runs at a lower CPU priority (nice 5 on POSIX) so its start-up and its push handling
never take the cores from the app's GUI thread. Lifetime: the child serves until its stdin
reaches end-of-file — :meth:`EmbeddedServer.stop` closes it (then terminates, then kills, if the
child does not end in time) and so does the parent's death, so no server outlives the app. The
enrolment code travels only over the pipe; nothing here logs it. Requires the ``server`` extra
(fastapi, uvicorn): :func:`available` says whether it is installed. Raises ``SyncError`` when
the child fails.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO

from mar_desktop.errors import SyncError
from sync.server.devcert import make_loopback_cert

log = logging.getLogger(__name__)

_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def available() -> bool:
    """True if the server's own dependencies (the ``server`` extra) are installed and this is
    not a frozen (PyInstaller) app, whose executable cannot run ``-m`` modules."""
    if getattr(sys, "frozen", False):
        return False
    return all(importlib.util.find_spec(name) is not None for name in ("fastapi", "uvicorn"))


@dataclass
class EmbeddedServer:
    """A running child server (see the module doc). ``stop()`` is idempotent."""

    process: subprocess.Popen[bytes]
    url: str
    facility_id: str
    code: str = field(repr=False)
    ca_pem: str = field(repr=False)

    @classmethod
    def start(
        cls,
        folder: Path,
        *,
        facility_name: str,
        timezone: str,
        timeout: float = 60.0,
    ) -> EmbeddedServer:
        """Starts a server on a new data folder ``folder`` (see the module doc)."""
        cert = make_loopback_cert(folder / "tls")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
        )
        command = [
            sys.executable,
            "-m",
            "sync.server.embedded",
            "--data",
            str(folder / "data"),
            "--cert",
            str(cert.pem_file),
            "--facility-name",
            facility_name,
            "--timezone",
            timezone,
        ]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        line = _read_line(process.stdout, timeout)
        try:
            ready = json.loads(line)
            url = f"https://127.0.0.1:{int(ready['port'])}"
            server = cls(process, url, str(ready["facility_id"]), str(ready["code"]), cert.ca_pem)
        except (ValueError, KeyError, TypeError):
            _end(process, 5.0)
            raise SyncError("The demo server did not start.") from None
        log.info("embedded demo server started on %s (pid %d)", url, process.pid)
        return server

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Ends the child: stdin closed, then SIGTERM, then SIGKILL; waits for it."""
        _end(self.process, timeout)


def _read_line(stream: IO[bytes] | None, timeout: float) -> str:
    """The first line of ``stream`` within ``timeout`` ("" on EOF or timeout). Portable (a
    reader thread rather than select(), which does not take pipes on Windows)."""
    if stream is None:
        return ""
    got: list[bytes] = []
    reader = threading.Thread(
        target=lambda: got.append(stream.readline()), name="mar-demo-server-ready", daemon=True
    )
    reader.start()
    reader.join(timeout)
    return got[0].decode("utf-8", "replace") if got else ""


def _end(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.stdin is not None and not process.stdin.closed:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


# ---- the child ---------------------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    from sync.server import config
    from sync.server.runner import tls13_context
    from sync.server.serving import ServeOptions, open_core, serve

    data = Path(args.data)
    core = open_core(data, str(data / config.DEFAULT_DB_FILE), create_key=True)
    try:
        facility_id, _ = core.create_facility(args.facility_name, args.timezone)
        code = core.make_enrol_code(facility_id, timedelta(hours=1))

        def ready(port: int) -> None:
            line = {"port": port, "facility_id": facility_id, "code": code}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()

        options = ServeOptions(
            port=0,
            ssl_context=tls13_context(args.cert, args.cert),
            verify_workers=0,
            verify_threads=1,
            log_level="warning",
        )
        serve(core, options, on_ready=ready, until=_parent_gone)
    finally:
        core.store.close()
    return 0


def _parent_gone() -> None:
    """Returns once the parent closes the pipe or dies (end of file on stdin). Reads the raw
    descriptor, not ``sys.stdin``: a thread blocked in the buffered reader holds its lock, and
    a child stopped by SIGTERM would then abort at interpreter shutdown."""
    while os.read(0, 4096):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.server.embedded")
    parser.add_argument("--data", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--facility-name", required=True)
    parser.add_argument("--timezone", default="UTC")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if hasattr(os, "nice"):
        os.nice(5)  # the demo's GUI comes first when both want the CPU (2-core carts)

    def terminate(_sig: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    try:
        return _serve(args)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
