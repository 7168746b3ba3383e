"""Helper process for the rekey kill test (not a test module).

``python rekey_child.py DATA_DIR KEYRING_FILE``: imports everything once, then for every stdin
``fork`` line forks a child that rekeys the database in a loop, printing ``STEP <name>`` (one
atomic ``write``) after each step of :func:`storage.rekey.rekey`, and prints ``PID <pid>`` for
the test to SIGKILL it; every ``reap`` line waits for that child and prints ``REAPED``, so the
test checks the database only when no rekey is running and has seen every step it printed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.fork_server import serve_forks


def rekey_forever(data_dir: Path, keyring_file: Path) -> None:
    from storage.keystore import KeyStore
    from storage.rekey import rekey
    from tests.file_keyring import FileKeyring

    store = KeyStore(data_dir, backend=FileKeyring(keyring_file), allow_insecure=True)

    def step(name: str) -> None:
        os.write(1, f"STEP {name}\n".encode())

    while True:
        rekey(store, on_step=step)


def main() -> None:
    data_dir, keyring_file = Path(sys.argv[1]), Path(sys.argv[2])
    import storage.keystore
    import storage.rekey  # noqa: F401
    import tests.file_keyring  # noqa: F401

    serve_forks(lambda: rekey_forever(data_dir, keyring_file), kill_at_end=False)

if __name__ == "__main__":
    main()
