"""``mar-desktop enroll --server URL --code CODE``: enrols this tablet, then syncs once.

Enrolment (:func:`sync.enroll.enroll`) creates the database; a refused enrolment is not
retried, so its message says the tablet was not enrolled and keeps the error's kind (its exit
status). A failed first sync is not fatal: the tablet is enrolled, ``mar-desktop sync``
retries. Prints ids and counts only, never the code or a key. Blocking network I/O on the
calling thread.
"""

from __future__ import annotations

import argparse
import socket

from mar_desktop.errors import MarError, SyncError
from storage.keystore import KeyStore
from sync.client import check_url
from sync.engine import SyncEngine
from sync.enroll import enroll, read_ca_file


def run(args: argparse.Namespace) -> int:
    check_url(args.server)  # refuse plain HTTP before touching the key store
    try:
        store = enroll(
            args.data_dir,
            KeyStore(args.data_dir),
            server_url=args.server,
            code=args.code,
            pin=args.pin,
            ca_pem=read_ca_file(args.ca),
            label=args.label or socket.gethostname()[:100],
        )
    except SyncError as exc:
        raise type(exc)(f"This tablet was not enrolled. {exc}") from exc
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
