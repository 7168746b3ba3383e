"""``mar-desktop import-fhir BUNDLE``: a pharmacy's MedicationRequest bundle as new orders.

Signs the person in first (:mod:`ui.cli.session`); each order goes through the reference
service (permission, verification rules, audit) on its own, so one bad order never blocks the
others. Prints one line per refused bundle entry (its index and why) and the counts; exit 0
when every entry was imported, 2 when any was refused.
"""

from __future__ import annotations

import argparse

from mar_desktop.errors import MarError, ValidationError
from mar_desktop.reports.fhir_import import import_medication_requests
from mar_desktop.services.reference import ReferenceService
from ui.cli.session import signed_in


def run(args: argparse.Namespace) -> int:
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
