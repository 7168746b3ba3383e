"""``mar-desktop verify``: every signature, chain link and sequence of ledger and audit.

Prints the verification summary (``OK: …``, or ``FAILED`` naming the exact entries that fail);
exit 0 when everything verifies, 5 when anything fails. Writes nothing.
"""

from __future__ import annotations

import argparse

from storage.verify import verify_store
from ui.cli.store import open_store


def run(args: argparse.Namespace) -> int:
    with open_store(args.data_dir) as store:
        conn = store.connect_reader()
        try:
            report = verify_store(conn)
        finally:
            conn.close()
    print(report.summary())
    return 0 if report.ok else 5
