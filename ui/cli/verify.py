"""``mar-desktop verify``: every signature, chain link and sequence of ledger and audit.

Prints the verification summary (``OK: …``, ``PARTIAL: …`` or ``FAILED`` naming the exact
entry that fails). Exit codes: 0 when everything verifies; 5 when anything fails; 6
(:data:`PARTIAL`) when every entry held verifies but the chains are not whole yet — a tablet that
started from the server's snapshot is still fetching its history, or found that history
disagreeing with the snapshot. Writes nothing.
"""

from __future__ import annotations

import argparse

from storage.verify import verify_store
from ui.cli.store import open_store

PARTIAL = 6
"""Exit code: every entry held verifies, but the chains are still partial."""


def run(args: argparse.Namespace) -> int:
    with open_store(args.data_dir) as store:
        conn = store.connect_reader()
        try:
            report = verify_store(conn)
        finally:
            conn.close()
    print(report.summary())
    if not report.ok:
        return 5
    return PARTIAL if report.partial is not None else 0
