"""Budget: resident memory of the app with a year of data ≤ 250 MB, after an hour of scripted
use (issue 5; docs/architecture.md#performance-budgets).

Copies the cached year database (:mod:`tests.bench.year`, ~650k entries), installs a password
and TOTP secret for its nurse and admin (the year is built without credentials), picks the
residents to visit and the doses due now, and starts the real app offscreen in a separate
process on the copy (:mod:`tests.bench.memory_drive`). That process signs in and works through
a compressed hour: unit overview and filter, a wristband scan per resident, scheduled and PRN
doses recorded through the administration screen, notes amended, alerts and sync status, the
idle lock and unlock after each round, and every fourth round an admin visiting every admin
screen, searching the audit log and saving a shift MAR PDF. Its RSS is sampled after each
step; the budgeted figure is the highest RSS sampled between steps (the end of the hour
included). The high-water mark (VmHWM) is reported beside it: it is higher by Argon2id's
m=64 MiB working buffer, allocated during each sign-in and unlock (~150 ms) and freed at once,
which the budget's "resident memory" is read here not to mean (see docs/benchmarks.md).

Same-run baseline: a bare PySide6 ``QApplication`` process with one ``QMainWindow`` shown.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.table import Figure
from tests.bench.year import YearDb, year_db

BUDGET_MB = 250
ROUNDS = 12  # one round ≈ five minutes of work
VISITS = 48  # resident visits in the hour
PASSWORD = "correct horse battery staple"
SECRETS = {"nurse": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
           "admin": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}

BARE_QT = """
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(QLabel("bare"))
window.resize(1280, 800)
window.show()
for _ in range(50):
    app.processEvents()
status = dict(l.split(":", 1) for l in Path("/proc/self/status").read_text().splitlines())
print(int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0]))
"""


def _prepare(year: YearDb, data_dir: Path) -> dict[str, Any]:
    """On the copy: credentials for the nurse and the admin; the visits of the hour (every
    resident of the unit, in room order, with a dose due now that needs no witness, and a PRN
    order when the resident has one)."""
    from mar_desktop.clock import FakeClock
    from mar_desktop.model import DoseStatus
    from mar_desktop.people.accounts import AccountService
    from mar_desktop.people.passwords import Argon2Parameters, PasswordHashing
    from mar_desktop.permissions import Principal
    from mar_desktop.services.base import Ports
    from mar_desktop.services.mar import MarService
    from storage.credentials import SqlCredentialStore
    from storage.local_store import LocalStore

    clock = FakeClock(year.now)
    store = LocalStore.open(data_dir, year.key, clock)  # the copy, never the cached year
    try:
        ports = Ports(store.ledger, store.reader, clock)
        read = store.reader()
        users = {u.username: u for u in read.users()}
        credentials = SqlCredentialStore(store.connect_reader, clock)
        fast = PasswordHashing(Argon2Parameters(time_cost=1, memory_kib=1024, parallelism=1))
        accounts = AccountService(ports, credentials, fast)
        for username, secret in SECRETS.items():
            accounts.install_credentials(users[username].user_id, PASSWORD, totp_secret=secret)
        credentials.close()
        principal = Principal(user=users["nurse"], device_id=store.device_id)
        residents = sorted(read.residents([year.unit_id]), key=lambda r: r.room)
        orders = {s.order.order_id: s.order for s in read.orders([r.resident_id
                                                                  for r in residents])}
        due: dict[str, str] = {}
        for dose in MarService(ports).due_now(principal, year.unit_id):
            order = orders[dose.order_id]
            if dose.status is DoseStatus.DUE and not order.needs_witness:
                due.setdefault(dose.resident_id, order.gtins[0])
        prn = {o.resident_id: o.gtins[0] for o in orders.values() if o.is_prn
               and not o.needs_witness}
    finally:
        store.close()
    visits = [{"wristband": r.wristband_id, "gtin": due.get(r.resident_id),
               "prn_gtin": prn.get(r.resident_id)} for r in residents if r.wristband_id]
    visits = (visits * (VISITS // max(1, len(visits)) + 1))[:VISITS]
    return {"data_dir": str(data_dir), "key": year.key.hex(),
            "now": year.now.isoformat(), "password": PASSWORD,
            "secrets": SECRETS, "visits": visits, "rounds": ROUNDS}


def _bare_qt_mb() -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", BARE_QT], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]) / 1024


def drive(plan: dict[str, Any], folder: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Runs the child; returns its samples and its final line."""
    plan_file = folder / "plan.json"
    plan_file.write_text(json.dumps(plan))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MAR_ALLOW_INSECURE_KEYSTORE="1")
    proc = subprocess.run([sys.executable, "-m", "tests.bench.memory_drive", str(plan_file)],
                          check=False, env=env, capture_output=True, text=True, timeout=3600)
    if proc.stderr.strip():
        print(proc.stderr[-4000:], file=sys.stderr)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    done = [line for line in lines if line.get("done")]
    if proc.returncode != 0 or not done:
        raise RuntimeError(f"the scripted hour failed (exit {proc.returncode})")
    return [line for line in lines if "sample" in line], done[0]


def run() -> list[Figure]:
    year = year_db()
    bare = _bare_qt_mb()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data_dir = folder / "data"
        shutil.copytree(year.data_dir, data_dir)
        plan = _prepare(year, data_dir)
        plan["tmp"] = str(folder)
        samples, done = drive(plan, folder)
    for s in samples:
        print(f"  {s['sample']}: RSS {s['rss_kb'] / 1024:.0f} MB, peak {s['hwm_kb'] / 1024:.0f} MB",
              file=sys.stderr)
    by_label = {s["sample"]: s["rss_kb"] / 1024 for s in samples}
    peak = done["hwm_kb"] / 1024
    final = done["rss_kb"] / 1024
    signed_in = by_label.get("signed in", 0.0)
    actions = done["actions"]
    count = sum(actions.values())
    failures = done["failures"]
    print(f"  memory: actions {actions}; failures {failures}", file=sys.stderr)
    note = f"; {len(failures)} steps failed" if failures else ""
    held = max([final, *by_label.values()])
    return [
        Figure(f"app resident memory over a scripted hour ({count} actions, year of data)",
               held, "MB", f"<= {BUDGET_MB} MB", held <= BUDGET_MB and not failures,
               f"bare PySide6 window {bare:.0f} MB; at the end {final:.0f} MB{note}"),
        Figure("  high-water mark (VmHWM), incl. Argon2id's transient 64 MiB", peak, "MB",
               "(informative)", True, f"after sign-in {signed_in:.0f} MB"),
    ]

if __name__ == "__main__":
    from tests.bench.table import render

    print(render(run()))
