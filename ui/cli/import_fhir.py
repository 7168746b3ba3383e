"""``mar-desktop import-fhir BUNDLE``: a pharmacy's MedicationRequest bundle as orders.

Signs the person in first (:mod:`ui.cli.session`); :class:`~mar_desktop.services.order_import.
OrderImportService` creates, changes or skips each order (importing a bundle again never
doubles an order), one by one, so one bad order never blocks the others. An order matching
one of the resident's allergies is refused until its entry is named with
``--acknowledge-allergy INDEX`` (recorded in the order's audit entry). Prints one line per
refused bundle entry (its index and why) and the counts; exit 0 when no entry was refused, 2
when any was.
"""

from __future__ import annotations

import argparse

from mar_desktop.errors import ValidationError
from mar_desktop.reports.fhir_import import import_medication_requests
from mar_desktop.services.order_import import OrderImportService
from ui.cli.session import signed_in


def run(args: argparse.Namespace) -> int:
    try:
        raw = args.bundle.read_bytes()
    except OSError as error:
        raise ValidationError(f"Cannot read {args.bundle}: {error.strerror}.") from None
    with signed_in(args.data_dir, args.user) as session:
        residents = session.ports.reader().residents()
        result = import_medication_requests(raw, residents, now=session.ports.clock.now())
        outcome = OrderImportService(session.ports).record(
            session.principal, result, allergies_acknowledged=set(args.acknowledge_allergy or ())
        )
    for index, reason in outcome.refused:
        hint = (
            f" (once checked, import again with --acknowledge-allergy {index})"
            if reason.startswith("Allergy warning")
            else ""
        )
        print(f"refused bundle entry {index}: {reason}{hint}")
    print(
        f"Imported {len(outcome.created)} orders, changed {len(outcome.changed)}, "
        f"{len(outcome.unchanged)} already imported; refused {len(outcome.refused)} entries."
    )
    return 0 if not outcome.refused else 2
