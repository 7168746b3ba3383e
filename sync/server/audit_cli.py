"""``mar-server audit``: the server's own audit as CSV (see :mod:`sync.server.audit`).

    mar-server audit [--facility F] [--from TIME] [--to TIME] [--out FILE] [--limit N]

Columns: ``at, facility_id, device_id, action, address, detail`` (address: the client's IP as
the server saw it, through a trusted proxy when one is configured, or ``cli:<user>``). Times
are RFC 3339 UTC (a date alone means its midnight UTC). Without ``--facility`` every facility's
rows are exported, and rows that name none (refused enrolment codes). The file is written 0600:
the audit says who worked where and when. Prints the row count to standard error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.errors import NotFound, ValidationError
from mar_desktop.private_files import private_dir, write_private
from sync.server import config
from sync.server.audit import to_csv
from sync.server.serving import open_core

MAX_ROWS = 10_000_000


def _time(text: str | None, what: str) -> str | None:
    if not text:
        return None
    value = text if "T" in text else f"{text}T00:00:00Z"
    try:
        return utc_iso(parse_utc(value))
    except ValueError:
        raise ValidationError(f"{what}: not an RFC 3339 time or a date: {text!r}") from None


def cmd_audit(args: argparse.Namespace) -> int:
    core = args.opened = open_core(  # closed by the CLI
        config.data_dir(args.data), args.db, secrets_key_file=args.secrets_key_file
    )
    facility = args.facility
    if facility is not None and facility not in core.store.facility_ids():
        raise NotFound("unknown facility")
    since, until = _time(args.since, "--from"), _time(args.until, "--to")
    rows = core.store.audit_rows(facility, since, until, args.limit)
    text = to_csv(rows)
    if args.out:
        out = Path(args.out)
        if not out.parent.exists():  # a folder made for the export is the operator's alone
            private_dir(out.parent)
        write_private(out, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    print(f"{len(rows)} audit rows", file=sys.stderr)
    return 0


def add_parser(sub: Any) -> None:
    """Adds ``audit`` to mar-server's subparsers."""
    p = sub.add_parser("audit", help="export the server's audit (with client addresses) as CSV")
    p.add_argument("--facility")
    p.add_argument("--from", dest="since", help="first time (RFC 3339 UTC, or a date)")
    p.add_argument("--to", dest="until", help="end time, exclusive")
    p.add_argument("--out", help="CSV file to write (0600); default: standard output")
    p.add_argument("--limit", type=int, default=MAX_ROWS)
    p.set_defaults(func=cmd_audit)
