"""The main window: the sign-in pages and the lock screen (:mod:`ui.sign_in_pages`), and the
work area (:mod:`ui.work_area`: the sidebar and the screens), with the emergency-access banner
on top (:mod:`ui.emergency`) and the sync status bar always at the bottom. While the window
lives, the app-wide touch guard (:class:`ui.touch.TouchGuard`) keeps the wheel off unfocused
combo boxes, spin boxes and dates.

Session events drive it (:class:`ui.session_bridge.SessionBridge`): on LOCKED, REAUTH_REQUIRED
or ENDED every PHI screen's ``clear_phi()`` runs and every open dialog is rejected in the same
call, before the lock screen is shown. The nurse keeps her place across a lock: a dose in
progress is taken out of the administration screen first (``KeptDose``, in memory only) and
shown again when the same user unlocks; a sign-out (or "Sign in as someone else") drops it and
the wristband scan in force (``ctx.wristbands``), so the next user starts fresh. The sidebar
has an admin slot: the admin screens (``ui.admin``) register through
:meth:`MainWindow.add_section`. In ``--demo`` only (the backend has the demo scan service) the
demo scanner panel (:mod:`ui.widgets.demo_scanner`) sits above the status bar while someone is
signed in.

GUI thread only. ``shutdown()`` stops the timers; the composition root stops the task runner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.clock import Clock
from mar_desktop.model import Unit
from mar_desktop.people.sessions import SessionEvent, SessionEventKind
from mar_desktop.permissions import Permission
from mar_desktop.sync_status import SyncStatus
from ui.backend import Backend, DemoAccount
from ui.context import UiContext
from ui.emergency import request_emergency_access, show_emergency
from ui.errors import ErrorPresenter
from ui.lag import settle_long_lived_objects
from ui.screens.alerts import AlertsScreen
from ui.screens.pass_list import PassListScreen
from ui.screens.resident_mar import AdminTarget, ResidentMarScreen
from ui.screens.unit_overview import UnitOverview
from ui.session_bridge import SessionBridge
from ui.sidebar import Sidebar
from ui.sign_in_pages import SignInPages
from ui.staged import StagedBuild, Step
from ui.tasks import TaskRunner
from ui.touch import TouchGuard
from ui.widgets.common import Banner
from ui.widgets.sync_status import SyncStatusBar
from ui.work_area import Part, Section, SectionFactory, WorkArea

if TYPE_CHECKING:
    from mar_desktop.services.demo_scans import DemoScanService
    from ui.screens.administration import AdministrationScreen, KeptDose
    from ui.widgets.demo_scanner import DemoScannerPanel

LOCKING = {SessionEventKind.LOCKED, SessionEventKind.REAUTH_REQUIRED, SessionEventKind.ENDED}


class MainWindow(QMainWindow):
    ready = Signal()  # the work area is built and sign-in is enabled (after attach)

    def __init__(self, runner: TaskRunner, clock: Clock, errors: ErrorPresenter) -> None:
        super().__init__()
        self.setWindowTitle("MAR Desktop")
        self.setMinimumSize(760, 600)  # portrait tablets: 800 px wide
        self.runner = runner
        self.clock = clock
        self.errors = errors
        errors.parent = self
        self.ctx: UiContext | None = None
        self._build: StagedBuild | None = None
        self._area: WorkArea | None = None  # from attach on; ``work`` once it is built
        self.bridge: SessionBridge | None = None
        self._sections: list[Section] = []
        self._kept: KeptDose | None = None  # the dose in progress at the lock, until unlock
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.emergency_banner = Banner()
        self.emergency_banner.setObjectName("emergencyBanner")
        column.addWidget(self.emergency_banner)
        self.root = QStackedWidget()
        column.addWidget(self.root, 1)
        self.status = SyncStatusBar(None, clock)
        self._column = column
        self.demo_scanner: DemoScannerPanel | None = None  # --demo only
        column.addWidget(self.status)
        self.setCentralWidget(central)
        pages = self._pages = SignInPages(runner, self.root, self.status, lambda: self.ctx, self)
        self.login, self.password_change = pages.login, pages.password_change
        self.totp_enrol, self.lock_screen = pages.totp_enrol, pages.lock_screen
        self._alerts_seen = 0
        pages.completed.connect(self._enter_work)
        self.lock_screen.unlocked.connect(self._unlocked)
        self.lock_screen.switch_user.connect(self.sign_out)
        self.root.setCurrentWidget(self.login)
        self._touch_guard = TouchGuard(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._touch_guard)

    # ---- composition ----------------------------------------------------------------------------
    def add_section(
        self, key: str, title: str, factory: SectionFactory, permission: Permission | None = None
    ) -> None:
        """Registers a sidebar entry (e.g. the admin screens). Call before ``attach``."""
        self._sections.append((key, title, factory, permission))

    def attach(self, backend: Backend, demo_accounts: Sequence[DemoAccount] = ()) -> None:
        """Called once the database is open: starts building the work area in steps (one per
        event-loop turn, :mod:`ui.staged`) and enables sign-in when the last one has run;
        ``ready`` is emitted then. Returns at once."""
        self.ctx = UiContext(self.runner, backend, self.errors, self.clock)
        self.bridge = SessionBridge(backend.sessions, self)
        self.bridge.session_event.connect(self.on_session_event)
        self.bridge.start()
        offline = backend.sessions.offline
        self.status.set_source(
            backend.sync_status,
            lambda: backend.sessions.settings,
            offline.status if offline is not None else None,
        )
        changed = getattr(backend.sync_status, "changed", None)
        if changed is not None:  # a SyncLink: statuses arrive already on the GUI thread
            changed.connect(self.on_sync_status)
        pulled = getattr(backend.sync_status, "pulled", None)
        if pulled is not None:  # ... and so do the changes a sync pulled
            pulled.connect(self.ctx.changes.announce)
        ctx = self.ctx

        def enable_sign_in() -> None:
            self.login.set_demo_accounts(demo_accounts)
            self.login.set_auth(backend.auth)
            settle_long_lived_objects()  # keep later collector pauses short (ui.lag)

        self._build = StagedBuild([*self._work_steps(ctx), enable_sign_in], self)
        if backend.demo_scans is not None:  # --demo only
            self._add_demo_scanner(ctx, backend.demo_scans, demo_accounts)
        self._build.finished.connect(self.ready)
        self._build.failed.connect(self.startup_failed)
        self._build.start()

    def _add_demo_scanner(self, ctx: UiContext, service: DemoScanService,
                          accounts: Sequence[DemoAccount]) -> None:
        from ui.widgets.demo_scanner import DemoScannerPanel

        def current_resident() -> str | None:
            work = self.work
            if work is None or work.stack.currentWidget() not in (work.mar, work.administration):
                return None
            return work.mar.resident_id or None

        self.demo_scanner = DemoScannerPanel(ctx, service, accounts, current_resident)
        self.demo_scanner.hide()
        if self._area is not None:
            self._area.stack.currentChanged.connect(self.demo_scanner.resident_may_have_changed)
        self._column.insertWidget(self._column.indexOf(self.status), self.demo_scanner)

    @property
    def is_ready(self) -> bool:
        """True once the work area is built and sign-in is enabled."""
        return self._build is not None and self._build.done

    def show_page(self, page: QWidget) -> None:
        """Shows a full-window page before sign-in (the first-run screen)."""
        if self.root.indexOf(page) < 0:
            self.root.addWidget(page)
        self.root.setCurrentWidget(page)

    def startup_failed(self, message: str) -> None:
        self.login.set_auth(None, message)
        self.login.banner.show_message("error", message)

    def _work_steps(self, ctx: UiContext) -> list[Step]:
        """The work area as build steps (:meth:`ui.work_area.WorkArea.build_steps`); the empty
        area goes into the window first, so each screen is built straight into it."""
        area = self._area = WorkArea(self.width())
        area.lock_requested.connect(self.lock_now)
        area.sign_out_requested.connect(self.sign_out)
        area.emergency_requested.connect(self._emergency)
        self.root.addWidget(area)
        return area.build_steps(ctx, self._sections, self.root.size)

    # ---- the work area's parts, as the window's own ---------------------------------------------
    stack: Part[QStackedWidget] = Part()
    overview: Part[UnitOverview] = Part()
    mar: Part[ResidentMarScreen] = Part()
    administration: Part[AdministrationScreen] = Part()
    alerts: Part[AlertsScreen] = Part()
    pass_list: Part[PassListScreen] = Part()
    _section_widgets: Part[dict[str, QWidget]] = Part("section_widgets")
    show_overview: Part[Callable[[], None]] = Part()  # re-read, focus in the scan field
    show_alerts: Part[Callable[[], None]] = Part()
    show_pass: Part[Callable[[], None]] = Part()
    open_resident: Part[Callable[[str, str], None]] = Part()  # (resident_id, wristband_scan)
    open_administration: Part[Callable[[AdminTarget], None]] = Part()

    @property
    def work(self) -> WorkArea | None:
        """The work area once its last build step ran; None before."""
        area = self._area
        return area if area is not None and area.built else None

    @property
    def nav(self) -> dict[str, QPushButton]:
        """The sidebar's nav buttons by key; empty before ``attach``."""
        return self._area.sidebar.nav if self._area is not None else {}

    @property
    def _sidebar(self) -> Sidebar | None:
        return self._area.sidebar if self._area is not None else None

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_width()

    def _fit_width(self) -> None:
        """A compact sidebar on a portrait tablet (:meth:`ui.sidebar.Sidebar.fit`)."""
        if self._area is not None:
            self._area.sidebar.fit(self.width())

    def on_sync_status(self, status: SyncStatus) -> None:
        """A new sync status (GUI thread): the status bar at once; when the number of open
        alerts changed (a pull brought new ones, or one was acknowledged elsewhere), the
        alerts list and its sidebar badge are re-read for the signed-in user."""
        self.status.show_status(status)
        if status.alerts != self._alerts_seen:
            self._alerts_seen = status.alerts
            if self.work is not None and self.ctx is not None and self.ctx.principal():
                self.alerts.refresh()

    # ---- sign-in and session events -----------------------------------------------------------
    def _enter_work(self) -> None:
        ctx = self.ctx
        principal = ctx.principal() if ctx else None
        work = self.work
        if principal is None or work is None:
            return
        user = principal.user
        role = user.role.value.replace("_", " ")
        work.sidebar.show_user(user.full_name, user.credentials or role)
        self.status.set_user(f"Signed in: {user.full_name} ({role})")
        for key, _title, _factory, permission in self._sections:
            allowed = permission is None or (ctx is not None and ctx.may(permission))
            self.nav[key].setVisible(allowed)
            badge = getattr(work.section_widgets.get(key), "refresh_badge", None)
            if allowed and badge is not None:
                badge()  # e.g. how many orders await verification
        if self.demo_scanner is not None:
            self.demo_scanner.show()
        if self.root.currentWidget() is not work:
            self.root.setCurrentWidget(work)
            work.show_overview()
            if self._alerts_seen:
                work.alerts.refresh()  # the sidebar badge shows the open alerts at once
        self._update_emergency()

    def on_session_event(self, event: SessionEvent) -> None:
        """A session event, on the GUI thread (:class:`ui.session_bridge.SessionBridge`)."""
        kind = event.kind
        if kind in LOCKING:
            if kind is SessionEventKind.ENDED:
                self._forget_place()
            else:
                self._keep_place(event)
            self.hide_phi()
            if kind is SessionEventKind.ENDED:
                self.show_login()
            else:
                self._pages.show_lock(event, reauth=kind is SessionEventKind.REAUTH_REQUIRED)
        elif kind is SessionEventKind.STARTED:
            self._enter_work()
        elif kind in (SessionEventKind.EMERGENCY_STARTED, SessionEventKind.EMERGENCY_ENDED):
            self._update_emergency()
            if self.root.currentWidget() is self.work:
                self.overview.refresh()

    def hide_phi(self) -> None:
        """Drops every PHI widget's content and closes every dialog, at once."""
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog | QMessageBox) and widget.isVisible():
                widget.reject()
        if self.work is not None:
            self.work.clear_phi()
            self.work.hide()
        if self.demo_scanner is not None:
            self.demo_scanner.clear()
        self.emergency_banner.clear_message()

    def _keep_place(self, event: SessionEvent) -> None:
        """At a lock: the dose in progress on show, for the session's user, and the time of the
        lock for the wristband scan (:mod:`ui.wristbands`)."""
        ctx, work = self.ctx, self.work
        if ctx is None or work is None:
            return
        ctx.wristbands.locked()
        if self._kept is None and work.stack.currentWidget() is work.administration:
            self._kept = work.administration.keep(event.user.user_id)

    def _forget_place(self) -> None:
        """Sign-out: no kept dose, no wristband scan."""
        self._kept = None
        if self.ctx is not None:
            self.ctx.wristbands.forget()

    def _unlocked(self) -> None:
        """The session's user unlocked: the dose kept at the lock comes back on its screen (only
        for that user), else the screen on show is re-read
        (:meth:`ui.work_area.WorkArea.resume`)."""
        work, ctx = self.work, self.ctx
        if work is None or ctx is None:
            return
        kept, self._kept = self._kept, None
        ctx.wristbands.unlocked()
        self.root.setCurrentWidget(work)
        work.show()
        self._enter_work()
        principal = ctx.principal()
        if kept is not None and principal is not None and kept.user_id == principal.user.user_id:
            work.resume_dose(kept)
        else:
            work.resume()

    def show_login(self) -> None:
        """The login page (:meth:`ui.sign_in_pages.SignInPages.show_login`)."""
        self._pages.show_login()

    def lock_now(self) -> None:
        """Locks the session (in memory); its LOCKED event then shows the lock screen."""
        if self.ctx is not None:
            self.ctx.backend.sessions.lock("manual")

    def sign_out(self) -> None:
        """Hides every PHI widget and shows the login page at once; the session is ended
        (and the sign-out audited) on the worker."""
        ctx = self.ctx
        if ctx is None:
            return
        self._forget_place()
        self.hide_phi()
        self.show_login()
        auth = ctx.backend.auth
        self.runner.submit(lambda: auth.sign_out("logout"))

    # ---- scans ----------------------------------------------------------------------------------
    def route_scan(self, text: str) -> bool:
        """A scan recognised app-wide (:class:`ui.scanner.ScannerFilter`) goes to the screen on
        show (:meth:`ui.work_area.WorkArea.route_scan`). Returns False, and does nothing, when
        no one is signed in (the sign-in pages and the lock screen) or a dialog is open."""
        work = self.work
        if (work is None or self.ctx is None or self.ctx.principal() is None
                or self.root.currentWidget() is not work
                or QApplication.activeModalWidget() is not None):
            return False
        work.route_scan(text)
        return True

    # ---- emergency access ---------------------------------------------------------------------
    def _emergency(self, units: list[Unit]) -> None:
        if self.ctx is not None:
            request_emergency_access(self.ctx, units, self)

    def _update_emergency(self) -> None:
        show_emergency(self.emergency_banner, self.ctx)

    # ---- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stops the remaining build steps, the session bridge and the status bar, in that order,
        and removes the touch guard."""
        if self._build is not None:
            self._build.stop()
        if self.bridge is not None:
            self.bridge.stop()
        self.status.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self._touch_guard)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
