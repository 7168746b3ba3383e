"""The pure clinical core: no SQL, no Qt, no I/O; safe on any thread.
What it enforces and where: docs/architecture.md#clinical-defaults.

* :mod:`~mar_desktop.clinical.windows` — administration windows (ISMP classes).
* :mod:`~mar_desktop.clinical.schedule` — schedule expansion across DST, dose status, due-now.
* :mod:`~mar_desktop.clinical.rules` — the refusal rules (``RuleViolation`` with a ``code``) and
  the informative results (hold decision, administration check).
* :mod:`~mar_desktop.clinical.allergies` — allergy warnings with a cross-sensitivity table.
* :mod:`~mar_desktop.clinical.barcodes` — bedside medication and wristband scans (biip).
* :mod:`~mar_desktop.clinical.dose` — the dose given against the order's (amounts, units,
  strengths).
* :mod:`~mar_desktop.clinical.routes` — the closed list of routes, their words and codes.
* :mod:`~mar_desktop.clinical.scope` — scope of practice by role.
* :mod:`~mar_desktop.clinical.reconcile` — what the server checks across devices.
* :mod:`~mar_desktop.clinical.overrides` — the warnings a nurse accepts, kept in the record.
"""
