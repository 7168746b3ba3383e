"""The ``mar-desktop`` command line: argument parsing, dispatch and exit codes.

Imports are lazy so that starting the GUI stays fast. Every command takes ``--data-dir``
(default: the platform's user data folder). Expected failures (``MarError``) print one line to
stderr and exit with the error's ``exit_code``; nothing PHI is printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mar_desktop import __version__
from mar_desktop.errors import MarError


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("mar-desktop", "MAR Desktop"))


def _add_data_dir(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    """``--data-dir`` on ``parser``. The top-level parser gives ``default=None``; a command's
    parser leaves the attribute unset unless the option follows the command, so
    ``mar-desktop --data-dir DIR verify`` and ``mar-desktop verify --data-dir DIR`` both use
    DIR (a command's own default would silently replace the one given before it)."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default,
        help="folder holding the encrypted database (default: the platform's user data folder)",
    )


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number ≥ ``minimum``. Refused before anything is created, so
    a bad count never leaves a new, empty database behind."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mar-desktop",
        description="MAR Desktop: offline-first electronic Medication Administration Record.",
    )
    parser.add_argument("--version", action="version", version=f"mar-desktop {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start on a throwaway encrypted demo facility with a local reference server",
    )
    _add_data_dir(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    seed = commands.add_parser("seed-demo", help="create the demo facility and its history")
    _add_data_dir(seed)
    seed.add_argument(
        "--days", type=_at_least(0), default=14, help="days of history (default 14)"
    )
    seed.add_argument(
        "--residents-per-unit", type=_at_least(1), default=20,
        help="residents on each of the two units (default 20)",
    )

    verify = commands.add_parser(
        "verify", help="check every signature, chain link and sequence of ledger and audit"
    )
    _add_data_dir(verify)

    enrol = commands.add_parser("enroll", help="enrol this tablet with the facility server")
    _add_data_dir(enrol)
    enrol.add_argument("--server", required=True, help="server URL (https:// only)")
    enrol.add_argument("--code", required=True, help="one-time code from mar-server enroll-code")
    enrol.add_argument("--pin", default=None, help="SPKI SHA-256 of the server key (hex)")
    enrol.add_argument("--ca", type=Path, default=None, help="private CA certificate (PEM)")
    enrol.add_argument("--label", default="", help="a name for this tablet")
    sync = commands.add_parser("sync", help="sync with the facility server now")
    _add_data_dir(sync)

    rekey = commands.add_parser(
        "rekey", help="re-encrypt the database under a new key, retiring the old (app closed)"
    )
    _add_data_dir(rekey)
    pending = commands.add_parser(
        "export-pending",
        help="write the entries the server has not acknowledged as an encrypted, signed bundle",
    )
    _add_data_dir(pending)
    pending.add_argument("--out", type=Path, required=True, help="bundle file to write")

    from ui import cli_reports

    cli_reports.add_parsers(commands, _add_data_dir)
    return parser


def _rekey(args: argparse.Namespace) -> int:
    from storage.rekey import rekey_command

    return rekey_command(args)


def _export_pending(args: argparse.Namespace) -> int:
    from sync.bundle import export_pending_command

    return export_pending_command(args)


def _gui_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """The plain GUI launch (``mar-desktop [--demo] [--data-dir DIR]``) parsed without building
    every command's parser: the report commands' modules take over a second to import, and
    start-up has a 1 s budget to the login window. None for anything else (full parser)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=None)
    try:
        args, rest = parser.parse_known_args(list(argv))
    except SystemExit:
        return None
    if rest:
        return None
    args.command = None
    return args


def _dispatch(args: argparse.Namespace) -> int:
    if args.command is None:
        from ui.app import run_gui

        return run_gui(args.data_dir, demo=bool(args.demo))
    from sync import cli_commands
    from ui import cli_reports, commands

    table: dict[str | None, Callable[[argparse.Namespace], int]] = {
        "seed-demo": commands.seed_demo_command,
        "verify": commands.verify,
        "enroll": cli_commands.enroll_command,
        "sync": cli_commands.sync_command,
        "rekey": _rekey,
        "export-pending": _export_pending,
        "print": cli_reports.print_report,
        "export": cli_reports.export,
        "check-export": cli_reports.check,
        "export-fhir": cli_reports.export_fhir,
        "import-fhir": cli_reports.import_fhir,
        None: commands.launch,
    }
    return table[args.command](args)


def main(argv: Sequence[str] | None = None) -> int:
    tokens = list(sys.argv[1:] if argv is None else argv)
    args = _gui_args(tokens) or build_parser().parse_args(tokens)
    if getattr(args, "data_dir", None) is None and not args.demo:
        args.data_dir = default_data_dir()
    try:
        return _dispatch(args)
    except MarError as error:
        print(f"mar-desktop: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
