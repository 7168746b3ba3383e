"""The main window: sign-in pages, the lock screen, and the work area (sidebar + screens),
with the emergency-access banner on top and the sync status bar always at the bottom.

Session events drive it (:class:`ui.session_bridge.SessionBridge`): on LOCKED, REAUTH_REQUIRED
or ENDED every PHI screen's ``clear_phi()`` runs and every open dialog is rejected in the same
call, before the lock screen is shown. The sidebar has an admin slot: the admin screens
(``ui.admin``, another helper) register through :meth:`MainWindow.add_section`.

GUI thread only. ``shutdown()`` stops the timers; the composition root stops the task runner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
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
from ui import theme
from ui.backend import Backend, DemoAccount, SignInResult, SyncStatus
from ui.context import UiContext
from ui.errors import ErrorPresenter
from ui.lag import settle_long_lived_objects
from ui.screens.alerts import AlertsScreen
from ui.screens.first_login import PasswordChangeScreen, TotpEnrolScreen
from ui.screens.lock import LockScreen
from ui.screens.login import LoginScreen
from ui.screens.resident_mar import AdminTarget, ResidentMarScreen
from ui.screens.unit_overview import UnitOverview
from ui.session_bridge import SessionBridge
from ui.staged import StagedBuild, Step
from ui.tasks import TaskRunner
from ui.widgets.common import Banner, button, label
from ui.widgets.sync_status import SyncStatusBar

SectionFactory = Callable[[UiContext], QWidget]
SIDEBAR_WIDE = 220
SIDEBAR_NARROW = 150  # at least; wide enough for the longest nav button in the compact style
SIDEBAR_MARGIN = 12

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
        self._sidebar: QFrame | None = None
        self.nav: dict[str, QPushButton] = {}
        self._open_alerts = 0
        self.bridge: SessionBridge | None = None
        self._sections: list[tuple[str, str, SectionFactory, Permission | None]] = []
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
        column.addWidget(self.status)
        self.setCentralWidget(central)
        self.login = LoginScreen(runner)
        self.password_change = PasswordChangeScreen(runner)
        self.totp_enrol = TotpEnrolScreen(runner)
        self.lock_screen = LockScreen(runner)
        for page in (self.login, self.password_change, self.totp_enrol, self.lock_screen):
            self.root.addWidget(page)
        self.work: QWidget | None = None
        self._alerts_seen = 0
        self.login.signed_in.connect(self._sign_in_step)
        self.password_change.done.connect(self._sign_in_step)
        self.totp_enrol.done.connect(self._sign_in_step)
        for page in (self.password_change, self.totp_enrol):
            page.cancelled.connect(self.show_login)
        self.lock_screen.unlocked.connect(self._unlocked)
        self.lock_screen.switch_user.connect(self.sign_out)
        self.root.setCurrentWidget(self.login)

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
        self.bridge.event.connect(self.on_session_event)
        self.bridge.start()
        self.status.set_source(backend.sync_status, lambda: backend.sessions.settings)
        changed = getattr(backend.sync_status, "changed", None)
        if changed is not None:  # a SyncLink: statuses arrive already on the GUI thread
            changed.connect(self.on_sync_status)
        ctx = self.ctx

        def enable_sign_in() -> None:
            self.login.set_demo_accounts(demo_accounts)
            self.login.set_auth(backend.auth)
            settle_long_lived_objects()  # keep later collector pauses short (ui.lag)

        self._build = StagedBuild([*self._work_steps(ctx), enable_sign_in], self)
        self._build.finished.connect(self.ready)
        self._build.failed.connect(self.startup_failed)
        self._build.start()

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
        """The work area (sidebar + screens) as build steps, each a few tens of ms at most."""
        work = QWidget()
        row = QHBoxLayout(work)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        sidebar = self._sidebar = QFrame()
        sidebar.setObjectName("sidebar")
        self._fit_width()
        side = QVBoxLayout(sidebar)
        self.stack = QStackedWidget()
        self._section_widgets: dict[str, QWidget] = {}
        # The empty frame goes into the window first and each screen is built straight into
        # it: reparenting a built screen makes Qt restyle its whole widget tree again.
        row.addWidget(sidebar)
        row.addWidget(self.stack, 1)
        self.root.addWidget(work)

        def sidebar_top() -> None:
            side.setContentsMargins(SIDEBAR_MARGIN, 16, SIDEBAR_MARGIN, 12)
            side.setSpacing(6)
            brand = label("MAR Desktop", wrap=True)
            brand.setObjectName("brand")
            side.addWidget(brand)
            self.user_label = QLabel("")
            self.user_label.setObjectName("userLabel")
            self.user_label.setWordWrap(True)
            side.addWidget(self.user_label)
            side.addSpacing(12)
            self._nav("residents", "☰  Residents", self.show_overview, side)
            self._nav("alerts", "⚠  Alerts", self.show_alerts, side)

        def overview() -> None:
            self.overview = UnitOverview(ctx, self.stack)
            self.stack.addWidget(self.overview)

        def mar() -> list[Callable[[], None]]:
            self.mar = ResidentMarScreen(ctx, self.stack, staged=True)
            self.stack.addWidget(self.mar)
            return self.mar.take_build_steps()  # its section tables, one step each

        def administration() -> None:
            # Imported here, after the worker opened the store (and so loaded the services and
            # the barcode parser): keeps ~200 ms of imports off the path to the login window.
            from ui.screens.administration import AdministrationScreen

            self.administration = AdministrationScreen(ctx, self.stack)
            self.stack.addWidget(self.administration)

        def alerts() -> None:
            self.alerts = AlertsScreen(ctx, self.stack)
            self.stack.addWidget(self.alerts)

        def section(key: str, title: str, factory: SectionFactory) -> Callable[[], None]:
            def build() -> None:
                widget = factory(ctx)
                self.stack.addWidget(widget)
                self._section_widgets[key] = widget
                self._nav(key, title, lambda: self._show_section(key, widget), side)
            return build

        def assemble() -> None:
            side.addStretch(1)
            side.addWidget(button("⊝  Lock screen", "nav", self.lock_now, name="lockNow"))
            side.addWidget(button("⇥  Sign out", "nav", self.sign_out, name="signOut"))
            self._connect_screens()

        def prepare(index: int) -> Callable[[], None]:
            return lambda: self._prepare(self.stack.widget(index))

        def finish() -> None:
            self._prepare(work)
            self.work = work

        sections = [section(key, title, factory) for key, title, factory, _ in self._sections]
        pages = 4 + len(sections)
        return [sidebar_top, overview, mar, administration, alerts, *sections, assemble,
                *[prepare(i) for i in range(pages)], finish]

    def _connect_screens(self) -> None:
        self.overview.open_resident.connect(self.open_resident)
        self.overview.emergency_requested.connect(self._emergency)
        self.mar.back.connect(self.show_overview)
        self.mar.administer.connect(self.open_administration)
        self.administration.cancelled.connect(lambda: self._back_to_mar(""))
        self.administration.recorded.connect(self._back_to_mar)
        self.alerts.count_changed.connect(self._alerts_counted)

    def _alerts_counted(self, count: int) -> None:
        self._open_alerts = count
        narrow = self.width() < theme.NARROW_WIDTH
        badge = f" ({count})" if narrow else f" ({count} open)"
        self.nav["alerts"].setText("⚠  Alerts" + (badge if count else ""))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_width()

    def _fit_width(self) -> None:
        """A compact sidebar on a portrait tablet (800-1080 px wide), so the screens keep
        their columns readable; the full one from :data:`ui.theme.NARROW_WIDTH` up."""
        if self._sidebar is None:
            return
        sidebar = self._sidebar
        narrow = self.width() < theme.NARROW_WIDTH
        compact = "yes" if narrow else "no"
        if sidebar.property("compact") != compact:
            sidebar.setProperty("compact", compact)
            for widget in (sidebar, *sidebar.findChildren(QWidget)):
                widget.style().unpolish(widget)
                widget.style().polish(widget)
        if "alerts" in self.nav:
            self._alerts_counted(self._open_alerts)
        if not narrow:
            sidebar.setFixedWidth(SIDEBAR_WIDE)
            return
        buttons = sidebar.findChildren(QPushButton)
        needed = max((b.sizeHint().width() for b in buttons), default=0) + 2 * SIDEBAR_MARGIN
        sidebar.setFixedWidth(min(SIDEBAR_WIDE, max(SIDEBAR_NARROW, needed)))

    def _prepare(self, page: QWidget) -> None:
        """Polishes and lays out one work page while the login screen is up, so the first
        switch to it during the med pass does not stall the GUI thread."""
        page.resize(self.root.size())
        page.ensurePolished()
        for child in page.findChildren(QWidget):
            child.ensurePolished()
        layout = page.layout()
        if layout is not None:
            layout.activate()

    def _nav(self, key: str, text: str, action: Callable[[], None], side: QVBoxLayout) -> None:
        nav = button(text, "nav", action, name=f"nav_{key}", checkable=True)
        nav.setAutoExclusive(True)
        self.nav[key] = nav
        side.addWidget(nav)

    def on_sync_status(self, status: SyncStatus) -> None:
        """A new sync status (GUI thread): the status bar at once; when the number of open
        alerts changed (a pull brought new ones, or one was acknowledged elsewhere), the
        alerts list and its sidebar badge are re-read for the signed-in user."""
        self.status.show_status(status)
        if status.alerts != self._alerts_seen:
            self._alerts_seen = status.alerts
            if self.work is not None and self.ctx is not None and self.ctx.principal():
                self.alerts.refresh()

    # ---- sign-in flow -------------------------------------------------------------------------
    def _sign_in_step(self, result: SignInResult) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        auth = ctx.backend.auth
        if result.must_change_password:
            self.password_change.begin(auth, result)
            self.root.setCurrentWidget(self.password_change)
        elif result.must_enrol_totp:
            self.totp_enrol.begin(auth, result)
            self.root.setCurrentWidget(self.totp_enrol)
        elif result.must_sign_in_again:
            self.show_login()
            self.login.banner.show_message(
                "ok", "Password saved. Sign in with your new password and your code."
            )
        else:
            self._enter_work()

    def _enter_work(self) -> None:
        ctx = self.ctx
        principal = ctx.principal() if ctx else None
        if principal is None or self.work is None:
            return
        user = principal.user
        self.user_label.setText(
            f"{user.full_name}\n{user.credentials or user.role.value.replace('_', ' ')}"
        )
        self.status.set_user(f"Signed in: {user.full_name} ({user.role.value.replace('_', ' ')})")
        for key, _title, _factory, permission in self._sections:
            allowed = permission is None or (ctx is not None and ctx.may(permission))
            self.nav[key].setVisible(allowed)
        if self.root.currentWidget() is not self.work:
            self.root.setCurrentWidget(self.work)
            self.show_overview()
            if self._alerts_seen:
                self.alerts.refresh()  # the sidebar badge shows the open alerts at once
        self._update_emergency()

    # ---- session events ---------------------------------------------------------------------
    def on_session_event(self, event: SessionEvent) -> None:
        kind = event.kind
        if kind in LOCKING:
            self.hide_phi()
            if kind is SessionEventKind.ENDED:
                self.show_login()
            else:
                self._show_lock(event, reauth=kind is SessionEventKind.REAUTH_REQUIRED)
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
            for screen in (self.overview, self.mar, self.administration, self.alerts,
                           *self._section_widgets.values()):
                clear = getattr(screen, "clear_phi", None)
                if clear is not None:
                    clear()
            self.work.hide()
        self.emergency_banner.clear_message()

    def _show_lock(self, event: SessionEvent, *, reauth: bool) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        self.lock_screen.begin(ctx.backend.auth, event.user.user_id, event.user.full_name,
                               reauth=reauth)
        self.root.setCurrentWidget(self.lock_screen)

    def _unlocked(self) -> None:
        if self.work is None:
            return
        self.root.setCurrentWidget(self.work)
        self.work.show()
        self._enter_work()
        current = self.stack.currentWidget()
        if current is self.mar and self.mar.resident_id:
            self.mar.refresh()
        elif current is self.alerts:
            self.alerts.refresh()
        else:
            self.show_overview()

    def show_login(self) -> None:
        self.password_change.reset()
        self.totp_enrol.reset()
        self.login.reset()
        self.status.set_user("")
        self.root.setCurrentWidget(self.login)
        self.login.username.setFocus()

    def lock_now(self) -> None:
        if self.ctx is not None:
            self.ctx.backend.sessions.lock("manual")

    def sign_out(self) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        self.hide_phi()
        self.show_login()
        auth = ctx.backend.auth
        self.runner.submit(lambda: auth.sign_out("logout"))

    # ---- navigation -----------------------------------------------------------------------------
    def show_overview(self) -> None:
        self.nav["residents"].setChecked(True)
        self.stack.setCurrentWidget(self.overview)
        self.overview.refresh()
        self.overview.scan.setFocus()

    def show_alerts(self) -> None:
        self.nav["alerts"].setChecked(True)
        self.stack.setCurrentWidget(self.alerts)
        self.alerts.refresh()

    def _show_section(self, key: str, widget: QWidget) -> None:
        self.nav[key].setChecked(True)
        self.stack.setCurrentWidget(widget)
        refresh = getattr(widget, "refresh", None)
        if refresh is not None:
            refresh()

    def route_scan(self, text: str) -> bool:
        """A scan recognised app-wide (:class:`ui.scanner.ScannerFilter`) goes to the scan
        handler of the screen on show: the unit overview looks the wristband up and opens the
        resident, the resident's MAR takes a wristband or a medication into the administration
        flow, the administration screen checks it. On a screen without one (alerts, admin)
        the overview takes it. Returns False, and does nothing, when no one is signed in (the
        sign-in pages and the lock screen) or a dialog is open."""
        if (self.work is None or self.ctx is None or self.ctx.principal() is None
                or self.root.currentWidget() is not self.work
                or QApplication.activeModalWidget() is not None):
            return False
        current = self.stack.currentWidget()
        handler = getattr(current, "on_scan", None)
        if handler is None:
            self.show_overview()
            handler = self.overview.on_scan
        handler(text)
        return True

    def open_resident(self, resident_id: str, wristband_scan: str = "") -> None:
        self.nav["residents"].setChecked(True)
        self.mar.open(resident_id, wristband_scan)
        self.stack.setCurrentWidget(self.mar)

    def open_administration(self, target: AdminTarget) -> None:
        self.administration.begin(target)
        self.stack.setCurrentWidget(self.administration)

    def _back_to_mar(self, message: str) -> None:
        self.stack.setCurrentWidget(self.mar)
        if message:
            self.mar.show_message("ok", message)
        self.mar.refresh()

    # ---- emergency access ---------------------------------------------------------------------
    def _emergency(self, units: list[Unit]) -> None:
        from ui.screens.dialogs import EmergencyDialog

        ctx = self.ctx
        if ctx is None or not units:
            return
        minutes = ctx.backend.sessions.settings.emergency_access_minutes
        dialog = EmergencyDialog(units, minutes, self)
        auth = ctx.backend.auth

        def submitted(values: dict[str, object]) -> None:
            unit_ids = list(values["unit_ids"])  # type: ignore[call-overload]
            handle = ctx.run(
                lambda p: auth.grant_emergency_access(p, str(values["reason"]), unit_ids),
                lambda _r: dialog.accept(),
                dialog.fail,
            )
            if handle is None:
                dialog.reject()

        dialog.submitted.connect(submitted)
        dialog.open()

    def _update_emergency(self) -> None:
        ctx = self.ctx
        session = ctx.backend.sessions.current if ctx else None
        grant = session.emergency if session is not None else None
        if grant is None or (ctx is not None and ctx.principal() is None):
            self.emergency_banner.clear_message()
            return
        until = grant.until.astimezone().strftime("%H:%M")
        self.emergency_banner.show_message(
            "emergency",
            f"EMERGENCY ACCESS active until {until} – every record you open is logged. "
            f"Reason: {grant.reason}",
        )

    # ---- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        if self._build is not None:
            self._build.stop()
        if self.bridge is not None:
            self.bridge.stop()
        self.status.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

