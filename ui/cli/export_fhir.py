"""``mar-desktop export-fhir``: a FHIR R4 Bundle (JSON) of a time window.

Signs the person in first (:mod:`ui.cli.session`); the report service checks the permission
and audits the export, and the file is written only after that. The terminal shows the file
name only.
"""

from __future__ import annotations

import argparse

from mar_desktop.private_files import write_private
from mar_desktop.reports.fhir_export import fhir_bundle_json
from storage.report_queries import ReportQueries
from ui.cli.session import signed_in


def run(args: argparse.Namespace) -> int:
    with signed_in(args.data_dir, args.user) as session:
        queries = ReportQueries(session.store.connect_reader())
        try:
            data = session.export_data(queries, args.since, args.until, "fhir_export")
        finally:
            queries.close()
        write_private(args.out, fhir_bundle_json(data))
    print(f"Wrote the FHIR Bundle to {args.out}.")
    return 0
