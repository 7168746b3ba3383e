"""``mar-desktop export``: the surveyor export of a time window (CSV, PDF, signed manifest).

Signs the person in first (:mod:`ui.cli.session`); the report service checks the permission
and audits the export with who, what window and which residents, and the files are written
to the new (or empty) ``--out`` folder only after that, with the ledger's verification summary
in the manifest. The terminal shows the folder and that summary, never PHI.
"""

from __future__ import annotations

import argparse

from ui.cli.session import signed_in


def run(args: argparse.Namespace) -> int:
    with signed_in(args.data_dir, args.user) as session:
        since, until = session.window(args.since, args.until)
        written = session.exports().surveyor_export(session.principal, args.out,
                                                    since=since, until=until)
    print(f"Wrote the export to {args.out} (ledger verification: {written.verification}).")
    return 0
