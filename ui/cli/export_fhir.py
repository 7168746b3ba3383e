"""``mar-desktop export-fhir``: a FHIR R4 Bundle (JSON) of a time window.

Signs the person in first (:mod:`ui.cli.session`); the report service checks the permission
and audits the export, and the file is written only after that. The terminal shows the file
name only.
"""

from __future__ import annotations

import argparse

from ui.cli.session import signed_in


def run(args: argparse.Namespace) -> int:
    with signed_in(args.data_dir, args.user) as session:
        since, until = session.window(args.since, args.until)
        session.exports().fhir_export(session.principal, args.out, since=since, until=until)
    print(f"Wrote the FHIR Bundle to {args.out}.")
    return 0
