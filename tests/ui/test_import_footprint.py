"""Memory (app ≤ 250 MB with a year of data, docs/architecture.md#performance-budgets): the modules
the nurse's path loads — the main window, the backend the worker builds when the store opens
(sign-in, sessions, bedside services, storage) — must not pull in the heavy libraries only rarer
work needs. Each is imported by the function that uses it, on the worker, when it is first used:

* zxcvbn (~13 MB of dictionaries): judging a new password;
* segno: drawing the QR code of a TOTP enrolment;
* httpx and the sync engine (~10 MB): only a tablet enrolled with a server syncs;
* reportlab, fhir.resources: printing and FHIR export/import (admin screens, CLI);
* pytest: never in the app.

Checked in a fresh interpreter (``sys.modules`` after the imports), so it is deterministic and
independent of what this test process has loaded."""

from __future__ import annotations

import json
import subprocess
import sys

NURSE_PATH = [
    "ui.app", "ui.startup", "ui.main_window", "ui.backend", "ui.auth_adapter", "ui.admin",
    "mar_desktop.people.auth", "mar_desktop.people.access", "mar_desktop.people.sessions",
    "mar_desktop.people.passwords", "mar_desktop.people.totp",
    "mar_desktop.services.mar", "mar_desktop.services.recording",
    "mar_desktop.services.reference", "mar_desktop.clinical.barcodes",
    "storage.local_store", "storage.credentials", "storage.sync_state", "storage.keystore",
]
HEAVY = ["zxcvbn", "segno", "httpx", "sync.engine", "reportlab", "fhir", "pytest"]

SCRIPT = f"""
import importlib, json, sys
from ui.admin import register
for name in {NURSE_PATH!r}:
    importlib.import_module(name)
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} | set(sys.modules))))
"""


def _loaded_after(script: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_the_nurse_path_does_not_import_heavy_libraries() -> None:
    loaded = _loaded_after(SCRIPT)
    assert not loaded.intersection(HEAVY), sorted(loaded.intersection(HEAVY))


def test_the_lazy_imports_still_happen_when_used() -> None:
    script = """
import json, sys
from mar_desktop.people.passwords import PasswordPolicy
from mar_desktop.people.totp import qr_matrix
PasswordPolicy().problems("correct horse battery staple", username="nurse")
qr_matrix("otpauth://totp/MAR:nurse?secret=JBSWY3DPEHPK3PXP")
print(json.dumps(sorted(sys.modules)))
"""
    loaded = _loaded_after(script)
    assert {"zxcvbn", "segno"} <= loaded
