"""``mar-desktop print shift …`` and ``print monthly …``: a shift MAR sheet or a monthly MAR.

Signs the person in first (:mod:`ui.cli.session`); the report service checks the permission
and audits the print with who, what window and which residents. The PDF is written only after
the data was gathered and permitted; the terminal shows the file name and page count only.
"""

from __future__ import annotations

import argparse

from mar_desktop.clock import SystemClock
from mar_desktop.reports.gather import ReportService
from mar_desktop.reports.monthly import render_monthly_mar
from mar_desktop.reports.shift_sheet import render_shift_sheet
from ui.cli.session import signed_in


def run(args: argparse.Namespace) -> int:
    with signed_in(args.data_dir, args.user) as session:
        service = ReportService(session.ports)
        if args.report == "shift":
            facility = session.facility()
            day = args.date or SystemClock().now().astimezone(facility.zone).date()
            data = service.shift_sheet(session.principal, unit_id=session.unit(args.unit).unit_id,
                                       day=day, shift=args.shift)
            info = render_shift_sheet(data, args.out, pagesize=args.page_size)
        else:
            year, month = args.month  # parsed with the command line
            unit_id = session.unit(args.unit).unit_id if args.unit else None
            monthly = service.monthly_mar(session.principal, year=year, month=month,
                                          resident_id=args.resident, unit_id=unit_id)
            info = render_monthly_mar(monthly, args.out, pagesize=args.page_size)
    print(f"Wrote {args.out} ({info.pages} pages).")
    return 0
