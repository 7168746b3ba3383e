"""``mar-desktop seed-demo``: creates the demo facility and its history in the data folder.

Staff with passwords and authenticators, two units, residents, orders and ``--days`` of
history, all written through the services (:func:`ui.demo.seed_into`). On a terminal the
progress is shown on stderr. If seeding fails or is interrupted, the database this command
just created is removed again (nothing half-seeded is left for the next run to call "already
exists") and the error propagates. Prints counts only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mar_desktop.clock import SystemClock
from mar_desktop.envelope import new_id
from storage.database import side_files
from storage.keystore import KeyStore
from storage.local_store import LocalStore
from ui.demo import seed_into


def _show(fraction: float, text: str) -> None:
    print(f"\r{text}: {fraction:5.0%}", end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    store = LocalStore.create(data_dir, KeyStore(data_dir), new_id(), SystemClock())
    progress = sys.stderr.isatty()
    try:
        result = seed_into(store, days=args.days, residents_per_unit=args.residents_per_unit,
                           progress=_show if progress else None)
    except BaseException:
        store.close()
        _remove_new_database(store.path)
        raise
    store.close()
    if progress:
        print(file=sys.stderr)
    stats = result.history
    print(
        f"Demo facility created in {data_dir}: {len(result.demo.units)} units, "
        f"{len(result.demo.residents)} residents, {len(result.demo.orders)} orders, "
        f"{stats.recorded} administrations over {args.days} days "
        f"({stats.voided} voided, {stats.amended} amended, {stats.followups} PRN follow-ups)."
    )
    return 0


def _remove_new_database(path: Path) -> None:
    """Deletes a database file this process created, with its WAL and shared-memory files."""
    for leftover in (path, *side_files(path)):
        leftover.unlink(missing_ok=True)
