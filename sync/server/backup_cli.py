"""``mar-server backup …`` and ``mar-server restore``: the command-line side of :mod:`.backup`.

Commands (exit 0 on success; 5 integrity failure; 6 storage; 2 invalid input; see cli.py)::

    mar-server backup [--out DIR] [--key-file F]      one encrypted online backup
    mar-server backup prune [--dir DIR] [--dry-run]  apply the retention policy
    mar-server backup check [FILE] [--dir DIR] [--scratch-dsn DSN]
    mar-server backup keygen --out FILE               a new backup key (0600)
    mar-server restore --from FILE [--force] [--safety-dir DIR]

Environment: ``MAR_BACKUP_DIR`` (default for ``--out``/``--dir``), ``MAR_BACKUP_KEY_FILE`` or
``MAR_BACKUP_KEY`` (see :mod:`.backup_crypto`), ``MAR_PG_BIN`` (PostgreSQL tools folder).
Output names files, counts and key ids only — never the key, a password or PHI.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from mar_desktop.errors import ValidationError
from sync.server import backup, config, retention
from sync.server import backup_crypto as bc

DIR_ENV = "MAR_BACKUP_DIR"


def _dir(explicit: str | None, what: str) -> Path:
    found = explicit or os.environ.get(DIR_ENV)
    if not found:
        raise ValidationError(f"no backup folder: give {what} or set {DIR_ENV}")
    return Path(found)


def _where(args: argparse.Namespace) -> tuple[str, Path]:
    data = config.data_dir(args.data)
    return config.db_url(data, args.db), data


def cmd_backup(args: argparse.Namespace) -> int:
    action = getattr(args, "backup_action", None)
    if action is not None:
        return int(action(args))
    db_url, data = _where(args)
    key = bc.load_key(args.key_file)
    made = backup.create_backup(db_url, data, _dir(args.out, "--out"), key)
    m = made.manifest
    total = sum(sum(chains.values()) for chains in m["entry_counts"].values())
    print(
        f"backup written: {made.path}\n"
        f"  {m['store']} schema v{m['schema_version']}, {total} entries, "
        f"sha256 {m['sha256']}, key id {m['key_id']}"
    )
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    policy = retention.Policy(args.daily_days, args.monthly_years)
    kept, gone = backup.prune(_dir(args.dir, "--dir"), policy=policy, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for path in gone:
        print(f"{verb}: {path.name}")
    print(f"kept {len(kept)} backup(s); {verb} {len(gone)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    key = bc.load_key(args.key_file)
    if args.file:
        target = Path(args.file)
    else:
        found = backup.list_backups(_dir(args.dir, "FILE or --dir"))
        if not found:
            raise ValidationError("no backups in the folder to check")
        target = found[-1][1]
    db_url, _ = _where(args)
    admin = args.scratch_dsn or (db_url if backup.is_postgres(db_url) else None)
    result = backup.check(target, key, pg_admin_dsn=admin)
    print(f"backup {target.name}: checksum and manifest ok, decrypted, restored into scratch")
    print(result.report.summary())
    if not result.counts_match:
        print(
            "FAILED: entry counts differ from the manifest "
            f"(manifest {result.manifest.get('entry_counts')}, restored {result.counts})"
        )
    return 0 if result.ok else 5


def cmd_keygen(args: argparse.Namespace) -> int:
    print(f"backup key written to {args.out} (key id {bc.generate_key_file(Path(args.out))})")
    print("Keep a copy offline: without it no backup made with it can be restored.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    db_url, data = _where(args)
    key = bc.load_key(args.key_file)
    safety = Path(args.safety_dir) if args.safety_dir else None
    done = backup.restore(Path(args.source), db_url, data, key, force=args.force, safety_dir=safety)
    if done.safety_backup is not None:
        print(f"safety backup of the replaced database: {done.safety_backup}")
    for note in done.notes:
        print(note)
    store = config.open_store(db_url)
    try:
        report, _counts = backup.verify_restored(store)
    finally:
        store.close()
    print(f"restored {Path(args.source).name} (made {done.manifest['created_at']})")
    print(report.summary())
    return 0 if report.ok else 5


def add_parsers(sub: Any) -> None:
    """Adds ``backup`` (with prune/check/keygen) and ``restore`` to mar-server's subparsers."""
    key_help = "backup key file (env MAR_BACKUP_KEY_FILE, or MAR_BACKUP_KEY)"
    p = sub.add_parser("backup", help="encrypted online backup of the server database")
    p.add_argument("--out", help=f"backup folder (env {DIR_ENV})")
    p.add_argument("--key-file", help=key_help)
    p.set_defaults(func=cmd_backup, backup_action=None)
    actions = p.add_subparsers(dest="backup_command")

    q = actions.add_parser("prune", help="delete backups the retention policy no longer keeps")
    q.add_argument("--dir", help=f"backup folder (env {DIR_ENV})")
    q.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    q.add_argument("--daily-days", type=int, default=retention.DEFAULT_POLICY.daily_days)
    q.add_argument("--monthly-years", type=int, default=retention.DEFAULT_POLICY.monthly_years)
    q.set_defaults(backup_action=cmd_prune)

    q = actions.add_parser("check", help="restore a backup into a scratch database and verify")
    q.add_argument("file", nargs="?", help="backup file (default: the newest in --dir)")
    q.add_argument("--dir", help=f"backup folder (env {DIR_ENV})")
    q.add_argument("--key-file", default=argparse.SUPPRESS, help=key_help)
    q.add_argument("--scratch-dsn", help="PostgreSQL server for the scratch database")
    q.set_defaults(backup_action=cmd_check)

    q = actions.add_parser("keygen", help="write a new random backup key (mode 0600)")
    q.add_argument("--out", required=True, help="key file to create")
    q.set_defaults(backup_action=cmd_keygen)

    p = sub.add_parser("restore", help="restore a backup into an empty server database")
    p.add_argument("--from", dest="source", required=True, help="the .marbak file")
    p.add_argument("--key-file", help=key_help)
    p.add_argument("--force", action="store_true", help="replace a database that holds data")
    p.add_argument(
        "--safety-dir", help="where the safety backup goes (default DATA/safety-backups)"
    )
    p.set_defaults(func=cmd_restore)
