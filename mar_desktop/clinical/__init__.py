"""The pure clinical core: no SQL, no Qt, no I/O; safe on any thread.
What it enforces and where: docs/architecture.md#clinical-defaults.

* :mod:`~mar_desktop.clinical.windows` — administration windows (ISMP classes).
* :mod:`~mar_desktop.clinical.schedule` — schedule expansion across DST, dose status, due-now.
* :mod:`~mar_desktop.clinical.rules` — the refusal rules (``RuleViolation`` with a ``code``) and
  the informative results (hold decision, administration check).
* :mod:`~mar_desktop.clinical.allergies` — allergy warnings with a cross-sensitivity table.
* :mod:`~mar_desktop.clinical.barcodes` — bedside medication and wristband scans (biip).
"""
