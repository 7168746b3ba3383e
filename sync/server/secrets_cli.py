"""``mar-server rotate-secrets-key``: rewrap the credential secrets' data key under a new
server secrets key (:mod:`sync.server.secrets_at_rest`).

    mar-server [--secrets-key-file OLD] rotate-secrets-key --new-key-file NEW

The key in use is the one the server starts with (``--secrets-key-file`` / ``MAR_SECRETS_KEY_FILE``,
else the key derived from the signing key). ``NEW`` is made (0600, random) when it does not exist
yet, else read (refused unless 0600). One row changes, in one transaction with its audit rows
(``secrets_key_rotated`` with the two key ids, in each facility's audit); no credential row is
rewritten. Processes already running keep serving (they hold the data key); before the next
start point
``MAR_SECRETS_KEY_FILE`` at ``NEW``, or the server refuses to start (wrong key). Prints key ids,
never a key.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mar_desktop.errors import ValidationError
from sync.server import audit, config
from sync.server import secrets_at_rest as sar
from sync.server.serving import open_core
from sync.server.store import AuditRow


def cmd_rotate(args: argparse.Namespace) -> int:
    core = args.opened = open_core(  # closed by the CLI
        config.data_dir(args.data), args.db, secrets_key_file=args.secrets_key_file
    )
    old = sar.configured_key(args.secrets_key_file) or sar.derived_key(core.signer)
    path = Path(args.new_key_file)
    made = not path.exists()
    new = sar.generate_key_file(path) if made else sar.load_key_file(path)
    if sar.key_id(new) == sar.key_id(old):
        raise ValidationError("the new secrets key is the key already in use")
    detail = f"secrets key {sar.key_id(old)} -> {sar.key_id(new)}"
    at, address = core.now(), audit.cli_address()
    facilities: list[str | None] = [*core.store.facility_ids()] or [None]
    rows = [  # one row in each facility's audit (every facility's secrets are under this key)
        AuditRow(at, facility, None, audit.SECRETS_KEY_ROTATED, address, detail)
        for facility in facilities
    ]
    core.store.rotate_secrets_key(old, new, rows)
    print(
        f"Server secrets rewrapped: key id {sar.key_id(old)} -> {sar.key_id(new)}"
        f"{' (new key file made)' if made else ''}.\n"
        f"Set {sar.KEY_FILE_ENV}={path} in the env file before the next start; keep a copy of "
        "the new key offline, and keep the old one until every backup made before today is "
        "retired."
    )
    return 0


def add_parser(sub: Any) -> None:
    """Adds ``rotate-secrets-key`` to mar-server's subparsers."""
    p = sub.add_parser(
        "rotate-secrets-key",
        help="rewrap the stored credential secrets' key under a new server secrets key",
    )
    p.add_argument(
        "--new-key-file", required=True, help="the new key file (made 0600 if it does not exist)"
    )
    p.set_defaults(func=cmd_rotate)
