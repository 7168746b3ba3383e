"""``mar-desktop export``: the surveyor export of a time window (CSV, PDF, signed manifest).

Signs the person in first (:mod:`ui.cli.session`); the report service checks the permission
and audits the export with who, what window and which residents, and the files are written
to the new (or empty) ``--out`` folder only after that, with the ledger's verification summary
in the manifest. The terminal shows the folder and that summary, never PHI.
"""

from __future__ import annotations

import argparse

from mar_desktop.reports.export import write_surveyor_export
from storage.report_queries import ReportQueries
from storage.verify import verify_store
from ui.cli.session import signed_in


def run(args: argparse.Namespace) -> int:
    with signed_in(args.data_dir, args.user) as session:
        conn = session.store.connect_reader()
        queries = ReportQueries(conn)
        try:
            data = session.export_data(queries, args.since, args.until, "surveyor_export")
            summary = verify_store(conn).summary()
            device_id, signer = queries.device_signer()
            write_surveyor_export(data, args.out, signer=signer, device_id=device_id,
                                  verification=summary)
        finally:
            queries.close()
    print(f"Wrote the export to {args.out} (ledger verification: {summary}).")
    return 0
