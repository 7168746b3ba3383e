"""First run against a real ``mar-server serve`` process on loopback TLS 1.3: clear errors for a
refused certificate and a wrong code, then enrolment and the first sync bring the facility's
users, and the login screen signs the server's first admin in. The GUI thread's worst stall
over the whole flow (work-area build included) is recorded for ``make bench``; quitting leaves
no sync thread behind."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from PySide6.QtWidgets import QApplication

from mar_desktop.clock import SystemClock
from sync.server import config
from sync.server.core import ServerCore
from tests.processes import free_port, wait_listening
from tests.ui.steps import MONITORS, record_gui_lag, tap, wait
from ui import theme
from ui.errors import ErrorPresenter
from ui.lag import EventLoopLagMonitor
from ui.main_window import MainWindow
from ui.startup import AppOwner
from ui.tasks import TaskRunner


@dataclass
class ServedSite:
    """``mar-server serve`` in its own process, as a tablet meets it in production, so the GUI
    lag measured here never includes the server's Python work competing for this process's
    interpreter lock. The test's own ServerCore over the same database makes the facility,
    the first admin and the enrolment codes, as ``mar-server init`` / ``enroll-code`` would."""

    core: ServerCore
    facility_id: str
    url: str
    ca_pem: str

    def code(self) -> str:
        return self.core.make_enrol_code(self.facility_id)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[ServedSite]:
    ca = trustme.CA()
    cert = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(cert))
    db, data = tmp_path / "server.sqlite3", tmp_path / "server-data"
    store = config.open_store(str(db))
    store.migrate()
    core = ServerCore(store, config.create_server_key(data), SystemClock())
    facility_id, _ = core.create_facility("Maple House", "America/Chicago")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sync.server.cli", "--data", str(data), "--db", str(db), "serve",
         "--host", "127.0.0.1", "--port", str(port), "--cert", str(cert), "--key", str(cert),
         "--verify-workers", "0", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, process, "mar-server serve")
        url = f"https://127.0.0.1:{port}"
        yield ServedSite(core, facility_id, url, ca.cert_pem.bytes().decode())
    finally:
        process.terminate()
        process.wait(15)
        store.close()


@pytest.fixture
def first_run(qtbot, tmp_path: Path, memory_keyring, runner: TaskRunner):
    from mar_desktop.clock import SystemClock

    theme.apply(QApplication.instance())
    window = MainWindow(runner, SystemClock(), ErrorPresenter())
    window.resize(1280, 800)
    qtbot.addWidget(window)
    window.show()
    owner = AppOwner(window, runner, window.clock, tmp_path / "tablet")
    monitor = EventLoopLagMonitor(window)
    monitor.start()
    MONITORS.append(monitor)
    try:
        yield window, owner, monitor
    finally:
        MONITORS.remove(monitor)
        monitor.stop()
        owner.shutdown()


def test_enrol_on_first_run_then_sign_in_as_the_facility_admin(qtbot, site, first_run, tmp_path):
    window, owner, lag = first_run
    admin = site.core.create_first_admin(site.facility_id, "boss", "Ada Boss")
    owner.open(demo=False)
    wait(qtbot, lambda: owner.first_run is not None and owner.first_run.isVisible())
    screen = owner.first_run
    assert window.root.currentWidget() is screen

    # no CA: the server's certificate is not trusted -> refused, nothing enrolled
    screen.url.setText(site.url)
    screen.code.setText(site.code())
    tap(qtbot, screen.enrol_button)
    wait(qtbot, lambda: screen.enrol_button.isEnabled() and "refused" in screen.banner.text())
    assert "certificate" in screen.banner.text()
    assert screen.code.text() == "", "the one-time code is cleared after every attempt"
    assert not (tmp_path / "tablet" / "mar.db").exists()

    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(site.ca_pem)
    screen.ca_file.setText(str(ca_file))
    screen.code.setText("WRONG-CODE1-23456-78901")
    tap(qtbot, screen.enrol_button)
    wait(qtbot, lambda: screen.enrol_button.isEnabled() and "not enrolled" in screen.banner.text())
    assert "code" in screen.banner.text()

    screen.code.setText(site.code())
    tap(qtbot, screen.enrol_button)
    wait(qtbot, lambda: window.root.currentWidget() is window.login
         and window.login.sign_in_button.isEnabled(), timeout=30_000)
    assert [t.name for t in threading.enumerate() if t.name == "mar-sync"], "engine started"
    link = window.ctx.backend.sync_status
    wait(qtbot, lambda: link.status().state == "online", timeout=30_000)
    wait(qtbot, lambda: window.status.sync_label.text().startswith("● Online"))

    # the facility's first admin came with the first sync: sign-in asks for a new password
    window.login.username.setText("boss")
    window.login.password.setText(admin.temporary_password)
    tap(qtbot, window.login.sign_in_button)
    wait(qtbot, lambda: window.root.currentWidget() is window.password_change, timeout=30_000)
    record_gui_lag(lag)

    owner.shutdown()
    assert not [t for t in threading.enumerate() if t.name == "mar-sync"]


def test_a_failed_enrolment_says_so_and_promises_no_retry() -> None:
    """Enrolment is one attempt: nothing on this screen promises a retry."""
    from mar_desktop.errors import SyncError, TransportRefused
    from ui.screens.first_run import enrolment_message

    assert enrolment_message(SyncError("The server could not be reached.")) == (
        "This tablet was not enrolled. The server could not be reached."
    )
    refused = enrolment_message(TransportRefused("The server's certificate could not be verified."))
    assert refused.startswith("Secure connection refused – nothing was sent.")
    assert "will retry" not in refused
