"""``mar-desktop enroll`` and ``mar-desktop sync``: the functions ``ui/cli.py`` dispatches.

Both take the parsed ``argparse.Namespace`` and return an exit status; expected failures raise
``MarError`` (``ui/cli.py`` prints them). Output is counts and ids only — never PHI, keys or the
enrolment code. Thread: the caller's (blocking network I/O).

argparse (in ``ui/cli.py``)::

    enrol = commands.add_parser("enroll", help="enrol this tablet with the facility server")
    _add_data_dir(enrol)
    enrol.add_argument("--server", required=True, help="server URL (https:// only)")
    enrol.add_argument("--code", required=True, help="one-time code from mar-server enroll-code")
    enrol.add_argument("--pin", default=None, help="SPKI SHA-256 of the server key (hex)")
    enrol.add_argument("--ca", type=Path, default=None, help="private CA certificate (PEM)")
    enrol.add_argument("--label", default="", help="a name for this tablet")
    sync = commands.add_parser("sync", help="sync with the facility server now")
    _add_data_dir(sync)
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from mar_desktop.errors import MarError, SyncError
from storage.keystore import KeyStore
from storage.local_store import LocalStore
from sync.client import check_url, without_retry
from sync.engine import SyncEngine
from sync.enroll import enroll, read_ca_file


def enroll_command(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    check_url(args.server)  # refuse plain HTTP before touching the key store
    try:
        store = enroll(
            data_dir,
            KeyStore(data_dir),
            server_url=args.server,
            code=args.code,
            pin=getattr(args, "pin", None),
            ca_pem=read_ca_file(getattr(args, "ca", None)),
            label=getattr(args, "label", "") or socket.gethostname()[:100],
        )
    except SyncError as exc:  # enrolment is not retried: say so, keep the error's kind
        raise type(exc)(f"This tablet was not enrolled. {without_retry(str(exc))}") from exc
    try:
        print(f"enrolled: device {store.device_id} of facility {store.facility_id}")
        engine = SyncEngine(store)
        try:
            report = engine.sync_once()
        except MarError as exc:
            print(f"first sync failed: {exc} (run 'mar-desktop sync' to retry)")
            return 0
        finally:
            engine.close()
        for line in report.lines():
            print(line)
        return 0
    finally:
        store.close()


def sync_command(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    store = LocalStore.open(data_dir, KeyStore(data_dir))
    try:
        engine = SyncEngine(store)
        try:
            report = engine.sync_once()
            status = engine.status.current
        finally:
            engine.close()
        for line in report.lines():
            print(line)
        print(f"waiting to send: {status.pending}")
        print(f"open alerts: {status.alerts}")
        print(f"held back (quarantine): {status.quarantined}")
        return 0
    finally:
        store.close()
