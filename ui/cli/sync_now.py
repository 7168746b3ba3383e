"""``mar-desktop sync``: one sync with the facility server now (push, then pull).

Prints what the sync did (counts) and what is left: entries waiting to be sent, open alerts,
entries held back in quarantine. A sync that fails raises its ``SyncError`` (exit 7), saying it
was one attempt and that nothing was lost (a one-shot sync is not retried); a revoked tablet
says instead what it did (signed out, handed over what it held, crypto-erased). Blocking
network I/O on the calling thread.
"""

from __future__ import annotations

import argparse

from mar_desktop.errors import DeviceRevoked, SyncError
from storage.erase import Eraser
from storage.keystore import KeyStore
from sync.engine import SyncEngine
from ui.cli.store import open_store


def run(args: argparse.Namespace) -> int:
    with open_store(args.data_dir) as store:
        engine = SyncEngine(store, eraser=Eraser(args.data_dir, KeyStore(args.data_dir)))
        try:
            report = engine.sync_once()
            status = engine.status.current
        except DeviceRevoked:  # it says what was done (signed out, handed over, erased)
            raise
        except SyncError as exc:  # one attempt: say so, and that nothing is lost
            raise type(exc)(
                f"Sync failed: {exc} Nothing was lost: this tablet keeps its records until a sync "
                "succeeds. Run 'mar-desktop sync' again, or let the app sync in the background."
            ) from exc
        finally:
            engine.close()
    for line in report.lines():
        print(line)
    print(f"waiting to send: {status.pending}")
    print(f"open alerts: {status.alerts}")
    print(f"held back (quarantine): {status.quarantined}")
    return 0
