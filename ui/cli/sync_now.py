"""``mar-desktop sync``: one sync with the facility server now (push, then pull).

Prints what the sync did (counts) and what is left: entries waiting to be sent, open alerts,
entries held back in quarantine. A sync that fails raises its ``SyncError`` (exit 7). Blocking
network I/O on the calling thread.
"""

from __future__ import annotations

import argparse

from sync.engine import SyncEngine
from ui.cli.store import open_store


def run(args: argparse.Namespace) -> int:
    with open_store(args.data_dir) as store:
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
