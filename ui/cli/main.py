"""``mar-desktop``: the argument parser, dispatch and exit codes (the console script's entry).

Without a command it starts the desktop app (:func:`ui.startup.run_gui`); with one it runs that
command's module of :mod:`ui.cli`. Every command takes ``--data-dir`` (default: the platform's
user data folder). Expected failures (``MarError``) print one line ``mar-desktop: <message>``
to stderr and exit with the error's ``exit_code``; Ctrl-C exits 130; nothing PHI is printed.

A command's module is imported only when that command runs, and a plain GUI launch is parsed
without building the full parser: process start to login window has a 1 s budget, and the
report commands' modules alone take over a second to import. Main thread of the process.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from mar_desktop import __version__
from mar_desktop.errors import MarError
from ui.cli.arguments import add_data_dir, at_least, checked, day, window_end


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("mar-desktop", "MAR Desktop"))


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
    add_data_dir(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    seed = commands.add_parser("seed-demo", help="create the demo facility and its history")
    add_data_dir(seed)
    seed.add_argument(
        "--days", type=at_least(0), default=14, help="days of history (default 14)"
    )
    seed.add_argument(
        "--residents-per-unit", type=at_least(1), default=20,
        help="residents on each of the two units (default 20)",
    )

    verify = commands.add_parser(
        "verify", help="check every signature, chain link and sequence of ledger and audit"
    )
    add_data_dir(verify)

    enrol = commands.add_parser("enroll", help="enrol this tablet with the facility server")
    add_data_dir(enrol)
    enrol.add_argument("--server", required=True, help="server URL (https:// only)")
    enrol.add_argument("--code", required=True, help="one-time code from mar-server enroll-code")
    enrol.add_argument("--pin", default=None, help="SPKI SHA-256 of the server key (hex)")
    enrol.add_argument("--ca", type=Path, default=None, help="private CA certificate (PEM)")
    enrol.add_argument("--label", default="", help="a name for this tablet")
    sync = commands.add_parser("sync", help="sync with the facility server now")
    add_data_dir(sync)

    rekey = commands.add_parser(
        "rekey", help="re-encrypt the database under a new key, retiring the old (app closed)"
    )
    add_data_dir(rekey)
    pending = commands.add_parser(
        "export-pending",
        help="write the entries the server has not acknowledged as an encrypted, signed bundle",
    )
    add_data_dir(pending)
    pending.add_argument("--out", type=Path, required=True, help="bundle file to write")

    _add_report_parsers(commands)
    return parser


def _add_report_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Prints, exports and imports: each signs a person in (``--user``; password and code are
    read by :mod:`ui.cli.session`)."""
    from mar_desktop.reports.shifts import parse_month  # not loaded for a GUI launch

    def person(parser: argparse.ArgumentParser) -> None:
        add_data_dir(parser)
        parser.add_argument("--user", required=True,
                            help="your username (password and code are asked for)")

    def window(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--from", dest="since", required=True, type=checked(window_end),
                            help="start: YYYY-MM-DD (facility midnight) or an ISO time with zone")
        parser.add_argument("--to", dest="until", required=True, type=checked(window_end),
                            help="end (exclusive), same forms")

    printing = commands.add_parser("print", help="print a shift MAR sheet or a monthly MAR")
    kinds = printing.add_subparsers(dest="report", metavar="REPORT", required=True)
    shift = kinds.add_parser("shift", help="shift MAR sheet for one unit (PDF)")
    person(shift)
    shift.add_argument("--unit", required=True, help="unit name or id")
    shift.add_argument("--date", type=checked(day), default=None,
                       help="YYYY-MM-DD (default: today in the facility's time zone)")
    shift.add_argument("--shift", choices=("day", "evening", "night"), required=True)
    shift.add_argument("--out", type=Path, required=True, help="PDF file to write")
    shift.add_argument("--page-size", choices=("letter", "a4"), default="letter")
    monthly = kinds.add_parser("monthly", help="monthly MAR, 31-day grid per resident (PDF)")
    person(monthly)
    monthly.add_argument("--month", type=checked(parse_month), required=True, help="YYYY-MM")
    monthly.add_argument("--resident", default=None, help="resident id (default: all you see)")
    monthly.add_argument("--unit", default=None, help="unit name or id")
    monthly.add_argument("--out", type=Path, required=True, help="PDF file to write")
    monthly.add_argument("--page-size", choices=("letter", "a4"), default="letter")

    export = commands.add_parser(
        "export", help="surveyor export of a time window: CSV, PDF and a signed manifest")
    person(export)
    window(export)
    export.add_argument("--out", type=Path, required=True, help="new (or empty) folder")

    keys = commands.add_parser(
        "facility-keys", help="write the facility's device public keys, for check-export")
    add_data_dir(keys)
    keys.add_argument("--out", type=Path, required=True, help="new JSON file to write")

    check = commands.add_parser(
        "check-export", help="check a surveyor export's or an access report's files")
    check.add_argument("folder", type=Path)
    check.add_argument("--trusted-key", action="append", default=None,
                       help="device public key (hex) the manifest must be signed by")
    check.add_argument("--facility-keys", action="append", type=Path, default=None,
                       help="the facility's device keys (a file from 'mar-desktop facility-keys')")

    fhir = commands.add_parser("export-fhir", help="FHIR R4 Bundle of a time window (JSON)")
    person(fhir)
    window(fhir)
    fhir.add_argument("--out", type=Path, required=True, help="JSON file to write")

    fhir_in = commands.add_parser(
        "import-fhir", help="import a pharmacy's MedicationRequest bundle as orders")
    person(fhir_in)
    fhir_in.add_argument("bundle", type=Path)
    fhir_in.add_argument("--acknowledge-allergy", action="append", type=int, default=None,
                         metavar="INDEX", help="enter the order of bundle entry INDEX despite "
                         "its allergy warning (checked with the prescriber)")

    orders = commands.add_parser(
        "orders", help="orders awaiting verification: list, verify or return one")
    person(orders)
    orders.add_argument("action", choices=("pending", "verify", "return"))
    orders.add_argument("entry", nargs="?", default="",
                        help="the id `orders pending` prints (verify, return)")
    orders.add_argument("--reason", default=None, help="why the order is returned")
    orders.add_argument("--note", default=None, help="a note with the verification")


def _gui_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """The plain GUI launch (``mar-desktop [--demo] [--data-dir DIR]``) parsed without building
    every command's parser. None for anything else (then the full parser reads it)."""
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


def command(name: str) -> Callable[[argparse.Namespace], int]:
    """The ``run`` function of command ``name``, its module imported now. The imports are
    written out, not computed from the name, so that PyInstaller and the import checks see
    every command module."""
    module: ModuleType
    match name:
        case "seed-demo":
            from ui.cli import seed_demo as module
        case "verify":
            from ui.cli import verify as module
        case "facility-keys":
            from ui.cli import facility_keys as module
        case "enroll":
            from ui.cli import enroll as module
        case "sync":
            from ui.cli import sync_now as module
        case "rekey":
            from ui.cli import rekey as module
        case "export-pending":
            from ui.cli import export_pending as module
        case "print":
            from ui.cli import print_report as module
        case "export":
            from ui.cli import export as module
        case "export-fhir":
            from ui.cli import export_fhir as module
        case "check-export":
            from ui.cli import check_export as module
        case "import-fhir":
            from ui.cli import import_fhir as module
        case "orders":
            from ui.cli import orders as module
        case _:
            raise KeyError(name)
    run: Callable[[argparse.Namespace], int] = module.run
    return run


def _run(args: argparse.Namespace) -> int:
    if args.command is None:
        from ui.startup import run_gui

        return run_gui(args.data_dir, demo=bool(args.demo))
    return command(args.command)(args)


def main(argv: Sequence[str] | None = None) -> int:
    tokens = list(sys.argv[1:] if argv is None else argv)
    args = _gui_args(tokens) or build_parser().parse_args(tokens)
    if getattr(args, "data_dir", None) is None and not args.demo:
        args.data_dir = default_data_dir()
    try:
        return _run(args)
    except MarError as error:
        print(f"mar-desktop: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
