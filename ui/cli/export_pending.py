"""``mar-desktop export-pending --out FILE``: this tablet's unacknowledged entries as a bundle.

For a tablet that cannot reach its server: the bundle (:func:`sync.bundle.export_pending`) is
encrypted to the facility server and signed, for ``mar-server import-bundle``. An existing
``FILE`` is never replaced (``ValidationError``, exit 2). Prints counts and the bundle id only;
exit 0, also when nothing is waiting (then no file is written).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mar_desktop.errors import ValidationError
from sync.bundle import export_pending
from ui.cli.store import open_store


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists():
        raise ValidationError(f"{out} already exists; choose another file name")
    with open_store(args.data_dir) as store:
        result = export_pending(store, out)
    if result is None:
        print("Nothing is waiting to be sent; no bundle was written.")
        return 0
    print(
        f"Wrote bundle {result.bundle_id} to {result.path}: {result.ledger_entries} ledger and "
        f"{result.audit_entries} audit entries, encrypted to the facility server. Take it to "
        "the server administrator for 'mar-server import-bundle'."
    )
    return 0
