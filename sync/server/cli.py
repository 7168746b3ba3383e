"""``mar-server``: set up, run and inspect the reference sync server.

Exit status 0 on success; otherwise the failing error's ``exit_code`` (2 invalid input,
5 integrity failure found by ``verify``, 6 storage trouble, 7 transport refused...). Messages
never contain keys, passwords (except the one-time temporary password ``init`` prints on
purpose) or PHI.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from mar_desktop.errors import MarError, NotFound, ValidationError
from sync.server import config
from sync.server.core import ServerCore
from sync.server.serving import ServeOptions, open_core, serve
from sync.server.store import DeviceRecord
from sync.server.tablet_version import oldest_tablet

log = logging.getLogger(__name__)

EPILOG = """\
environment:
  MAR_SERVER_DATA   data directory (default ./mar-server-data); holds server-signing.key, the
                    server's Ed25519 private key (mode 0600, refused if group/other may read
                    it) and, by default, the SQLite database mar-server.sqlite3
  MAR_SERVER_DB     database: a SQLite file path (or sqlite:PATH) or a postgresql:// DSN
  MAR_SECRETS_KEY_FILE  the server secrets key (64 hex digits, mode 0600) wrapping the key of
                    the credential secrets stored in the database; without it a key derived
                    from server-signing.key is used
  MAR_TRUSTED_PROXIES  load balancers (addresses or CIDR, comma-separated) whose
                    X-Forwarded-For is honoured; several serve processes may share one database

examples:
  mar-server init --facility-name "Maple House" --timezone America/Chicago --json
  mar-server serve --cert fullchain.pem --key privkey.pem --host 0.0.0.0 --port 8443
  MAR_SERVER_DB=postgresql://mar@db/mar mar-server verify
"""


def _core(args: argparse.Namespace, *, create_key: bool = False) -> ServerCore:
    core = open_core(
        config.data_dir(args.data),
        args.db,
        create_key=create_key,
        secrets_key_file=args.secrets_key_file,
    )
    args.opened = core
    return core


def _facility(core: ServerCore, explicit: str | None) -> str:
    ids = core.store.facility_ids()
    if explicit:
        if explicit not in ids:
            raise NotFound("unknown facility")
        return explicit
    if len(ids) != 1:
        raise ValidationError(
            "no facility yet: run 'mar-server init'"
            if not ids
            else "several facilities: give --facility"
        )
    return ids[0]


def _out(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else text)


def cmd_init(args: argparse.Namespace) -> int:
    core = _core(args, create_key=True)
    facility_id, server_device_id = core.create_facility(args.facility_name, args.timezone)
    admin = core.create_first_admin(facility_id, args.admin_username, args.admin_name)
    code = core.make_enrol_code(facility_id, timedelta(hours=args.code_hours))
    data = {
        "facility_id": facility_id,
        "server_id": core.server_id,
        "server_device_id": server_device_id,
        "server_public_key": core.public_key,
        "admin": {
            "user_id": admin.user_id,
            "username": admin.username,
            "temporary_password": admin.temporary_password,
            "must_change_password": True,
        },
        "enrolment_code": code,
        "enrolment_code_expires_in_hours": args.code_hours,
    }
    _out(
        args,
        data,
        (
            f"Facility {facility_id} created on server {core.server_id}.\n"
            f"First admin: {admin.username} — temporary password {admin.temporary_password} "
            "(must be changed at first login; shown only now).\n"
            f"Enrolment code (single use, {args.code_hours} h): {code}"
        ),
    )
    return 0


def cmd_enroll_code(args: argparse.Namespace) -> int:
    core = _core(args)
    facility_id = _facility(core, args.facility)
    code = core.make_enrol_code(facility_id, timedelta(hours=args.hours))
    data = {"facility_id": facility_id, "code": code, "expires_in_hours": args.hours}
    _out(args, data, f"Enrolment code (single use, {args.hours} h): {code}")
    return 0


def cmd_reset_admin(args: argparse.Namespace) -> int:
    """A server-signed password reset making the account a facility admin (the operator's way
    in when no admin can sign account changes, e.g. after upgrading from unsigned records)."""
    from sync.server.accounts import reset_admin

    core = _core(args)
    facility_id = _facility(core, args.facility)
    password = reset_admin(core, facility_id, args.user_id, args.username)
    data = {"user_id": args.user_id, "username": args.username, "temporary_password": password}
    _out(
        args,
        data,
        f"{args.username}: temporary password {password} (facility admin; must be changed at "
        "the next sign-in, which binds the admin's own key; shown only now).",
    )
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    core = _core(args)
    rows = core.store.devices(args.facility)
    data = {
        "devices": [
            {
                "device_id": d.device_id,
                "facility_id": d.facility_id,
                "label": d.label,
                "is_server": d.is_server,
                "enrolled_at": d.enrolled_at,
                "revoked_at": d.revoked_at,
                "revoke_mode": d.revoke_mode,
                "retired_at": d.retired_at,
            }
            for d in rows
        ]
    }
    lines = [
        f"{d.device_id}  {d.facility_id}  {'server ' if d.is_server else ''}"
        f"{_standing(d)}{d.label}  enrolled {d.enrolled_at}"
        for d in rows
    ]
    _out(args, data, "\n".join(lines) or "no devices")
    return 0


def _standing(d: DeviceRecord) -> str:
    if not d.revoked:
        return ""
    if d.retiring:
        return "RETIRING "
    return "RETIRED " if d.retired_at else "REVOKED "


def cmd_history_days(args: argparse.Namespace) -> int:
    core = _core(args)
    facility_id = _facility(core, args.facility)
    if args.days is not None:
        if args.days < 1:
            raise ValidationError("--days must be at least 1")
        core.store.set_history_days(facility_id, args.days)
    days = core.store.history_days(facility_id)
    _out(
        args,
        {"facility_id": facility_id, "history_days": days},
        f"New tablets of {facility_id} fetch {days} days of history "
        "(tablets already enrolled keep what they hold).",
    )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from sync.server.audit import cli_address

    core = _core(args)
    core.revoke(args.device_id, args.mode, address=cli_address(), reason=args.reason or "")
    if args.mode == "retire":
        print(
            f"Device {args.device_id} is retiring: it may still send what it holds; once it has "
            "confirmed, it erases itself and is refused. Its past entries stay valid."
        )
    else:
        print(
            f"Device {args.device_id} revoked as lost: refused from now on; it erases itself at "
            "its next contact. Its past entries stay valid."
        )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from sync.server.verify import verify_store

    core = _core(args)
    report = verify_store(core.store)
    print(report.summary())
    return 0 if report.ok else 5


def cmd_alerts(args: argparse.Namespace) -> int:
    from sync.server.app import alert_infos

    core = _core(args)
    facilities = [args.facility] if args.facility else core.store.facility_ids()
    items = [a for f in facilities for a in alert_infos(core, f)]
    data = {"alerts": [a.model_dump(exclude={"entry"}) for a in items]}
    lines = [f"{a.recorded_at}  {a.alert_type}  device {a.device_id}  {a.detail}" for a in items]
    _out(args, data, "\n".join(lines) or "no alerts")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from sync.server.runner import tls13_context

    if (args.cert is None) != (args.key is None):
        raise ValidationError("give both --cert and --key")
    ctx = None
    if args.cert is not None:
        try:
            ctx = tls13_context(args.cert, args.key)
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot load the TLS certificate or key: {exc}") from None
    try:
        proxies = config.trusted_proxies(args.trusted_proxy)
    except ValueError as exc:
        raise ValidationError(f"--trusted-proxy / MAR_TRUSTED_PROXIES: {exc}") from None
    options = ServeOptions(
        host=args.host, port=args.port, ssl_context=ctx, log_level=args.log_level,
        insecure_http_loopback=args.insecure_http_loopback, verify_workers=args.verify_workers,
        trusted_proxies=proxies,
        oldest_tablet=oldest_tablet(
            args.oldest_tablet_version or os.environ.get("MAR_OLDEST_TABLET_VERSION")
        ),
    )
    options.check()  # before the store is opened
    core = _core(args)
    for warning in start_warnings(core, config.db_url(config.data_dir(args.data), args.db)):
        log.warning("%s", warning)
        print(f"mar-server: warning: {warning}", file=sys.stderr, flush=True)
    serve(core, options)
    return 0


def start_warnings(core: ServerCore, db_url: str) -> list[str]:
    """What ``serve`` warns about at start: a database volume that is not (or cannot be told
    to be) encrypted, and a secrets key derived from the signing key instead of its own file."""
    from sync.server.secrets_at_rest import KEY_FILE_ENV
    from sync.server.volume import check

    out = [w for w in (check(db_url).warning,) if w]
    if not core.secrets_key_from_file:
        out.append(
            "the server secrets key is derived from server-signing.key, which lives beside the "
            f"database: set {KEY_FILE_ENV} to a key file kept elsewhere (mar-server "
            "rotate-secrets-key --new-key-file FILE)"
        )
    return out


def cmd_import_bundle(args: argparse.Namespace) -> int:
    """A tablet's export-pending bundle, taken in by hand (sync/server/bundle_import.py)."""
    from pathlib import Path

    from sync.server.bundle_import import import_bundle_file

    core = _core(args)
    result = import_bundle_file(core, Path(args.file), _facility(core, args.facility))
    print(result.summary())
    return 0 if result.ok else 5


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mar-server",
        description="Reference sync server for MAR Desktop tablets (HTTPS, TLS 1.3 only).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", help="data directory (env MAR_SERVER_DATA)")
    parser.add_argument("--db", help="SQLite path or postgresql:// DSN (env MAR_SERVER_DB)")
    parser.add_argument(
        "--secrets-key-file",
        help="server secrets key file, 0600 (env MAR_SECRETS_KEY_FILE; default: derived from "
        "the server signing key)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "init",
        help="create a facility, its first admin and an enrolment code "
        "(and the server key on first use)",
    )
    p.add_argument("--facility-name", required=True)
    p.add_argument("--timezone", default="UTC", help="IANA zone, e.g. America/Chicago")
    p.add_argument("--admin-username", default="admin")
    p.add_argument("--admin-name", default="Facility Administrator")
    p.add_argument("--code-hours", type=int, default=24)
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="serve the API (HTTPS with TLS 1.3 minimum)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--cert", help="PEM certificate chain")
    p.add_argument("--key", help="PEM private key of the certificate")
    p.add_argument(
        "--insecure-http-loopback",
        action="store_true",
        help="serve plain HTTP (loopback addresses only; for tests)",
    )
    p.add_argument(
        "--verify-workers",
        type=int,
        default=2,
        help="processes checking pushed signatures (0: threads in-process)",
    )
    p.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="ADDR",
        help="load balancer address or CIDR whose X-Forwarded-For names the client "
        "(repeatable; env MAR_TRUSTED_PROXIES, comma-separated); /metrics then needs its token",
    )
    p.add_argument(
        "--oldest-tablet-version",
        metavar="VERSION",
        help="refuse tablets running an older app (HTTP 426; they stop showing patient data "
        "until updated); only raises what this release accepts "
        "(env MAR_OLDEST_TABLET_VERSION)",
    )
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("enroll-code", help="make a one-time device enrolment code")
    p.add_argument("--facility")
    p.add_argument("--hours", type=int, default=24)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_enroll_code)

    p = sub.add_parser(
        "reset-admin", help="give a facility admin a new temporary password, signed by the server"
    )
    p.add_argument("--facility")
    p.add_argument("--user-id", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reset_admin)

    p = sub.add_parser("devices", help="list enrolled devices")
    p.add_argument("--facility")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser(
        "history-days", help="show or set how many days of history a new tablet fetches"
    )
    p.add_argument("--facility")
    p.add_argument("--days", type=int, help="the new window (default 400)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history_days)

    p = sub.add_parser(
        "revoke-device",
        help="revoke a tablet: 'lost' (refused at once, erases itself at next contact) or "
        "'retire' (sends what it holds, then erases itself)",
    )
    p.add_argument("device_id")
    p.add_argument("--mode", choices=("lost", "retire"), default="lost")
    p.add_argument("--reason", help="why (kept in the server audit)")
    p.set_defaults(func=cmd_revoke)

    p = sub.add_parser("verify", help="check every stored chain and signature")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("alerts", help="list alerts (forks, clinical reconciliation)")
    p.add_argument("--facility")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser(
        "import-bundle", help="take in a tablet's export-pending bundle (same checks as sync)"
    )
    p.add_argument("file", help="the bundle file written by 'mar-desktop export-pending'")
    p.add_argument("--facility")
    p.set_defaults(func=cmd_import_bundle)

    # operations hook: backup, backup prune/check/keygen, restore (sync/server/backup_cli.py)
    from sync.server.backup_cli import add_parsers as add_backup_parsers

    add_backup_parsers(sub)
    from sync.server.audit_cli import add_parser as add_audit_parser

    add_audit_parser(sub)
    from sync.server.access_cli import add_parser as add_access_parser

    add_access_parser(sub)
    from sync.server.secrets_cli import add_parser as add_secrets_parser

    add_secrets_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MarError as exc:
        print(f"mar-server: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        opened = getattr(args, "opened", None)
        if opened is not None:
            opened.store.close()


if __name__ == "__main__":
    sys.exit(main())
