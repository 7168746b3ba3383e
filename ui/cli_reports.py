"""``mar-desktop print …``, ``export``, ``check-export``, ``export-fhir`` and ``import-fhir``.

Each signs a person in first (:mod:`ui.cli_session`): the services check the permission and
audit every print and export with who, what window and which residents. Output files are
written only after the data was gathered and permitted; nothing is printed but counts, file
names and summaries.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TypeVar

from mar_desktop.clock import SystemClock, parse_utc
from mar_desktop.errors import MarError, NotFound, ValidationError
from mar_desktop.model import Facility, Unit
from mar_desktop.reports.export import check_export, write_surveyor_export
from mar_desktop.reports.fhir_export import fhir_bundle_json
from mar_desktop.reports.fhir_import import import_medication_requests
from mar_desktop.reports.gather import ExportData, ReportService
from mar_desktop.reports.monthly import render_monthly_mar
from mar_desktop.reports.shift_sheet import render_shift_sheet
from mar_desktop.reports.shifts import parse_month
from mar_desktop.services.reference import ReferenceService
from storage.report_queries import ReportQueries
from storage.verify import verify_store
from ui.cli_session import SignedIn, signed_in

T = TypeVar("T")


def _checked(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser of ours: a value that does not parse is refused while the
    command line is read, with the parser's own words, before the password and code are asked
    for (a typo must not cost the user an authenticator code)."""

    def check(text: str) -> T:
        try:
            return parse(text)
        except (ValidationError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return check


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{text!r} is not a date (YYYY-MM-DD).") from None


def _window_end(text: str) -> date | datetime:
    """A ``--from``/``--to`` value: a bare date (made the facility's midnight once the facility
    is known, :func:`_moment`) or an aware UTC time."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else parse_utc(text)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a date (YYYY-MM-DD) or a time with a zone.") from None


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                add_data_dir: object) -> None:
    """Adds the report commands to the ``mar-desktop`` parser."""
    assert callable(add_data_dir)

    def person(parser: argparse.ArgumentParser) -> None:
        add_data_dir(parser)
        parser.add_argument("--user", required=True,
                            help="your username (password and code are asked for)")

    printing = commands.add_parser("print", help="print a shift MAR sheet or a monthly MAR")
    kinds = printing.add_subparsers(dest="report", metavar="REPORT", required=True)
    shift = kinds.add_parser("shift", help="shift MAR sheet for one unit (PDF)")
    person(shift)
    shift.add_argument("--unit", required=True, help="unit name or id")
    shift.add_argument("--date", type=_checked(_day), default=None,
                       help="YYYY-MM-DD (default: today in the facility's time zone)")
    shift.add_argument("--shift", choices=("day", "evening", "night"), required=True)
    shift.add_argument("--out", type=Path, required=True, help="PDF file to write")
    shift.add_argument("--page-size", choices=("letter", "a4"), default="letter")
    monthly = kinds.add_parser("monthly", help="monthly MAR, 31-day grid per resident (PDF)")
    person(monthly)
    monthly.add_argument("--month", type=_checked(parse_month), required=True, help="YYYY-MM")
    monthly.add_argument("--resident", default=None, help="resident id (default: all you see)")
    monthly.add_argument("--unit", default=None, help="unit name or id")
    monthly.add_argument("--out", type=Path, required=True, help="PDF file to write")
    monthly.add_argument("--page-size", choices=("letter", "a4"), default="letter")

    export = commands.add_parser(
        "export", help="surveyor export of a time window: CSV, PDF and a signed manifest")
    person(export)
    _window(export)
    export.add_argument("--out", type=Path, required=True, help="new (or empty) folder")

    check = commands.add_parser("check-export", help="check a surveyor export's files")
    check.add_argument("folder", type=Path)
    check.add_argument("--trusted-key", action="append", default=None,
                       help="device public key (hex) the manifest must be signed by")

    fhir = commands.add_parser("export-fhir", help="FHIR R4 Bundle of a time window (JSON)")
    person(fhir)
    _window(fhir)
    fhir.add_argument("--out", type=Path, required=True, help="JSON file to write")

    fhir_in = commands.add_parser(
        "import-fhir", help="import a pharmacy's MedicationRequest bundle as orders")
    person(fhir_in)
    fhir_in.add_argument("bundle", type=Path)


def _window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="since", required=True, type=_checked(_window_end),
                        help="start: YYYY-MM-DD (facility midnight) or an ISO time with zone")
    parser.add_argument("--to", dest="until", required=True, type=_checked(_window_end),
                        help="end (exclusive), same forms")


def _moment(value: date | datetime, facility: Facility) -> datetime:
    """A parsed ``--from``/``--to`` as a UTC time: a date is the facility's midnight."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=facility.zone).astimezone(UTC)


def _facility(session: SignedIn) -> Facility:
    facility = session.ports.reader().facility()
    if facility is None:
        raise NotFound("This device has no facility yet.")
    return facility


def _unit(session: SignedIn, wanted: str) -> Unit:
    units = session.ports.reader().units()
    for unit in units:
        if wanted in (unit.unit_id, unit.name) or wanted.casefold() == unit.name.casefold():
            return unit
    names = ", ".join(u.name for u in units)
    raise ValidationError(f"No unit {wanted!r}; units are: {names}.")  # bad input: exit 2


def print_report(args: argparse.Namespace) -> int:
    with signed_in(args.data_dir, args.user) as session:
        service = ReportService(session.ports)
        if args.report == "shift":
            facility = _facility(session)
            day = args.date or SystemClock().now().astimezone(facility.zone).date()
            data = service.shift_sheet(session.principal, unit_id=_unit(session, args.unit).unit_id,
                                       day=day, shift=args.shift)
            info = render_shift_sheet(data, args.out, pagesize=args.page_size)
        else:
            year, month = args.month  # parsed with the command line
            unit_id = _unit(session, args.unit).unit_id if args.unit else None
            monthly = service.monthly_mar(session.principal, year=year, month=month,
                                          resident_id=args.resident, unit_id=unit_id)
            info = render_monthly_mar(monthly, args.out, pagesize=args.page_size)
    print(f"Wrote {args.out} ({info.pages} pages).")
    return 0


def _gather_export(session: SignedIn, args: argparse.Namespace, queries: ReportQueries,
                   report: str) -> ExportData:
    """The permitted, audited data of the ``--from``/``--to`` window (worker: this thread)."""
    facility = _facility(session)
    since, until = _moment(args.since, facility), _moment(args.until, facility)
    return ReportService(session.ports).export_data(
        session.principal, since=since, until=until, entries=queries, report=report)


def export(args: argparse.Namespace) -> int:
    with signed_in(args.data_dir, args.user) as session:
        conn = session.store.connect_reader()
        queries = ReportQueries(conn)
        try:
            data = _gather_export(session, args, queries, "surveyor_export")
            summary = verify_store(conn).summary()
            device_id, signer = queries.device_signer()
            write_surveyor_export(data, args.out, signer=signer, device_id=device_id,
                                  verification=summary)
        finally:
            queries.close()
    print(f"Wrote the export to {args.out} (ledger verification: {summary}).")
    return 0


def check(args: argparse.Namespace) -> int:
    result = check_export(args.folder, trusted_keys=args.trusted_key)
    print(result.summary())
    return 0 if result.ok else 5


def export_fhir(args: argparse.Namespace) -> int:
    with signed_in(args.data_dir, args.user) as session:
        queries = ReportQueries(session.store.connect_reader())
        try:
            data = _gather_export(session, args, queries, "fhir_export")
        finally:
            queries.close()
        args.out.write_bytes(fhir_bundle_json(data))
    print(f"Wrote the FHIR Bundle to {args.out}.")
    return 0


def import_fhir(args: argparse.Namespace) -> int:
    try:
        raw = args.bundle.read_bytes()
    except OSError as error:
        raise ValidationError(f"Cannot read {args.bundle}: {error.strerror}.") from None
    with signed_in(args.data_dir, args.user) as session:
        residents = session.ports.reader().residents()
        result = import_medication_requests(raw, residents, now=session.ports.clock.now())
        reference = ReferenceService(session.ports)
        refused = [(r.index, r.reason) for r in result.rejected]
        imported = 0
        for accepted in result.accepted:
            try:
                reference.create_order(session.principal, accepted.order)
                imported += 1
            except MarError as error:  # one bad order never blocks the others
                refused.append((accepted.index, str(error)))
    for index, reason in sorted(refused):
        print(f"refused bundle entry {index}: {reason}")
    print(f"Imported {imported} orders; refused {len(refused)} entries.")
    return 0 if not refused else 2
