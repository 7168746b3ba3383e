"""The status bar shows what the sync engine reports — delivered from the engine's own thread,
shown on the GUI thread, with a glyph and words (never colour alone) — and the long-outage
warning once the oldest unsynced entry is older than the facility's setting."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from mar_desktop.changes import Changes
from mar_desktop.sync_status import SyncStatus
from sync.status import Listeners, StatusBoard
from tests.ui.harness import Facility1
from tests.ui.steps import wait
from ui import theme
from ui.app import Opened
from ui.errors import ErrorPresenter
from ui.main_window import MainWindow
from ui.startup import AppOwner
from ui.tasks import TaskRunner


class FakeEngine:
    """The SyncEngine surface the app uses; status changes come from a thread of its own."""

    def __init__(self) -> None:
        self.status = StatusBoard()
        self.pulled = Listeners[Changes]()
        self.started = self.stopped = False
        self.requests = 0

    def start(self) -> None:
        self.started = True

    def request_sync(self) -> None:
        self.requests += 1

    def stop(self, timeout: float = 5.0) -> bool:
        self.stopped = True
        return True

    def publish(self, **changes: object) -> None:
        """Updates the board on another thread, as the engine's sync thread does."""
        worker = threading.Thread(target=lambda: self.status.update(**changes), name="mar-sync")
        worker.start()
        worker.join()


@pytest.fixture
def synced(
    qtbot: object, facility: Facility1, runner: TaskRunner
) -> Iterator[tuple[MainWindow, FakeEngine, AppOwner]]:
    app = QApplication.instance()
    theme.apply(app)  # type: ignore[arg-type]
    window = MainWindow(runner, facility.clock, ErrorPresenter())
    window.resize(1280, 800)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    engine = FakeEngine()
    owner = AppOwner(window, runner, facility.clock, None)
    owner.ready(Opened(facility.backend, engine=engine))
    qtbot.waitUntil(lambda: window.is_ready)  # type: ignore[attr-defined]
    try:
        yield window, engine, owner
    finally:
        owner.shutdown()


def test_status_from_the_sync_thread_reaches_the_bar_as_glyph_and_words(qtbot, synced):
    window, engine, _owner = synced
    assert engine.started, "the engine starts once the backend is attached (login showing)"
    label = window.status.sync_label
    on_gui: list[bool] = []
    show = window.status.show_status

    def recording(status: SyncStatus | None) -> None:  # the path that touches widgets
        on_gui.append(QThread.currentThread() is QApplication.instance().thread())
        show(status)

    window.status.show_status = recording
    now = window.clock.now()
    engine.publish(state="online", online=True, pending=3, last_success=now, alerts=2)
    wait(qtbot, lambda: "Online" in label.text())
    text = label.text()
    assert text.startswith("● Online")
    assert "3 waiting to sync" in text
    assert "last sync just now" in text
    assert "2 open alerts" in text and theme.GLYPH_WARNING in text
    assert label.property("sync") == "online"
    assert on_gui and all(on_gui), "status must be delivered on the GUI thread"

    engine.publish(state="offline", online=False, pending=5, alerts=0,
                   last_error="The server could not be reached; will retry.")
    wait(qtbot, lambda: "Offline" in label.text())
    assert label.text().startswith("⊘ Offline")
    assert "5 waiting to sync" in label.text() and "no open alerts" in label.text()
    assert label.property("sync") == "offline"
    assert "could not be reached" in label.toolTip()

    engine.publish(state="revoked", online=True)
    wait(qtbot, lambda: "revoked" in label.text())
    assert label.text().startswith("⛔")


def test_long_outage_warning_follows_the_clock_and_the_facility_setting(qtbot, synced, facility):
    window, engine, _owner = synced
    clock = facility.clock
    warning = window.status.warning
    engine.publish(state="offline", pending=4, oldest_unsynced_at=clock.now() - timedelta(hours=3))
    wait(qtbot, lambda: "4 waiting" in window.status.sync_label.text())
    assert not warning.isVisible(), "3 hours is under the default 4"

    clock.advance(timedelta(hours=2))  # nothing new from the engine: the bar's timer re-checks
    wait(qtbot, warning.isVisible, timeout=5000)
    assert warning.text().startswith(theme.GLYPH_WARNING)
    assert "Records have waited 5 hours without reaching the server" in warning.text()
    assert warning.property("banner") == "warning"

    engine.publish(state="online", online=True, pending=0, oldest_unsynced_at=None)
    wait(qtbot, lambda: not warning.isVisible())

    sessions = facility.backend.sessions
    sessions.update_settings(sessions.settings.model_copy(update={"unsynced_warning_hours": 1}))
    engine.publish(state="offline", pending=1,
                   oldest_unsynced_at=clock.now() - timedelta(minutes=90))
    wait(qtbot, warning.isVisible, timeout=5000)
    assert "1 hour without" in warning.text()


def test_more_open_alerts_refresh_the_alerts_badge(qtbot, synced, facility):
    from tests.ui.steps import sign_in

    window, engine, _owner = synced
    sign_in(qtbot, window, facility, "nurse")
    wait(qtbot, lambda: window.root.currentWidget() is window.work)
    refreshed: list[int] = []
    window.alerts.count_changed.connect(refreshed.append)
    engine.publish(state="online", online=True, alerts=1)
    wait(qtbot, lambda: refreshed, timeout=5000)


def test_idle_worker_asks_for_a_sync_soon(qtbot, synced):
    window, engine, _owner = synced
    link = window.ctx.backend.sync_status
    link._debounce.setInterval(50)
    window.runner.submit(lambda: None)
    wait(qtbot, lambda: engine.requests >= 1, timeout=3000)


def test_quit_stops_the_engine_before_the_store_closes(qtbot, synced, facility):
    _window, engine, owner = synced
    order: list[str] = []
    close = facility.backend.close
    facility.backend.close = lambda: (order.append("store" if engine.stopped else "early"),
                                      close())
    owner.shutdown()
    assert engine.stopped
    assert order == ["store"]


def test_the_offline_limit_counts_down_its_last_day(qtbot, synced, facility):
    from mar_desktop.people.offline import Contact, OfflineLimit

    class Contacts:
        def __init__(self, at):
            self.contact = Contact(at, at, 0.0)

        def load_contact(self):
            return self.contact

        def save_contact(self, contact):
            self.contact = contact

        def enrolled(self):
            return True

        def revocation_mode(self):
            return None

        def update_required(self):
            return None

        def save_update_required(self, oldest):
            return None

    window, engine, _owner = synced
    clock = facility.clock
    warning = window.status.warning
    limit = OfflineLimit(clock, Contacts(clock.now() - timedelta(hours=47)), hours=lambda: 72)
    window.status.set_source(window.status._source, offline=limit.status)
    engine.publish(state="offline", pending=0)
    wait(qtbot, lambda: "Offline" in window.status.sync_label.text())
    assert not warning.isVisible(), "25 hours left: not the last day yet"

    clock.advance(timedelta(hours=2))  # the bar's timer re-checks: 23 h left
    wait(qtbot, warning.isVisible, timeout=5000)
    assert "23 h 00 min left before this tablet stops showing patient data" in warning.text()
    clock.advance(timedelta(hours=22, minutes=30))
    wait(qtbot, lambda: "30 min left" in warning.text(), timeout=5000)
    clock.advance(timedelta(hours=1))
    wait(qtbot, lambda: "shows no patient data" in warning.text(), timeout=5000)
