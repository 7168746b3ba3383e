"""Helper process for the kill test (not a test module).

Run as ``python kill_child.py DATA_DIR`` with the database key (hex) as the first line of
stdin. It imports everything once, then for every further stdin line forks a recorder child
(line ``fork``) and prints ``PID <pid>``, or reaps the last recorder (line ``reap``) and prints
``REAPED``. The recorder opens the store and appends [administration, audit] pairs in a loop,
writing ``ID <ids>`` with one atomic ``write`` to stdout after each ``append`` returns. The test
SIGKILLs recorders at random moments. ``REAPED`` is printed only after the recorder is dead, so
everything it wrote precedes it on the pipe. A recorder whose helper is gone stops itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.fork_server import serve_forks


def record(data_dir: Path, key: bytes) -> None:
    from storage.local_store import LocalStore
    from tests import factories as f

    helper = os.getppid()
    store = LocalStore.open(data_dir, key)
    counter = 0
    while os.getppid() == helper:
        counter += 1
        drafts = [
            f.administration(f"res-{counter % 7}", f"ord-{counter % 5}", scheduled_for=None),
            f.audit("administration", entity_type="administration"),
        ]
        entries = store.ledger.append(drafts)
        os.write(1, f"ID {entries[0].id} {entries[1].id}\n".encode())


def main() -> None:
    data_dir = Path(sys.argv[1])
    key = bytes.fromhex(sys.stdin.readline().strip())
    # warm the imports once so each forked recorder starts in a few milliseconds
    import storage.local_store  # noqa: F401
    import tests.factories  # noqa: F401

    serve_forks(lambda: record(data_dir, key), kill_at_end=True)

if __name__ == "__main__":
    main()
