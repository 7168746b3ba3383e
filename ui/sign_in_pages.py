"""The pages before the work area, in the main window's page stack: the login screen, the
first-login pages (a new password, TOTP enrolment) and the lock screen. :class:`SignInPages`
shows the page the last sign-in step asks for next; when none is left it emits ``completed``
and the main window shows the work area.

GUI thread only. The pages make their own worker calls (signing in, the new password, the
enrolment, unlocking) through the task runner; this class makes none and shows no PHI.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QStackedWidget

from mar_desktop.people.sessions import SessionEvent
from ui.backend import SignInResult
from ui.context import UiContext
from ui.screens.first_login import PasswordChangeScreen, TotpEnrolScreen
from ui.screens.lock import LockScreen
from ui.screens.login import LoginScreen
from ui.tasks import TaskRunner
from ui.widgets.sync_status import SyncStatusBar


class SignInPages(QObject):
    """Adds its pages to ``root``; ``ctx()`` is the window's context (None before the database
    is open: no sign-in step is taken then). ``status`` loses the user name on the login page."""

    completed = Signal()  # the last sign-in step passed: the session has started

    def __init__(self, runner: TaskRunner, root: QStackedWidget, status: SyncStatusBar,
                 ctx: Callable[[], UiContext | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = root
        self._status = status
        self._ctx = ctx
        self.login = LoginScreen(runner)
        self.password_change = PasswordChangeScreen(runner)
        self.totp_enrol = TotpEnrolScreen(runner)
        self.lock_screen = LockScreen(runner)
        for page in (self.login, self.password_change, self.totp_enrol, self.lock_screen):
            root.addWidget(page)
        self.login.signed_in.connect(self._step)
        self.password_change.done.connect(self._step)
        self.totp_enrol.done.connect(self._step)
        for page in (self.password_change, self.totp_enrol):
            page.cancelled.connect(self.show_login)

    def _step(self, result: SignInResult) -> None:
        ctx = self._ctx()
        if ctx is None:
            return
        auth = ctx.backend.auth
        if result.must_change_password:
            self.password_change.begin(auth, result)
            self._root.setCurrentWidget(self.password_change)
        elif result.must_enrol_totp:
            self.totp_enrol.begin(auth, result)
            self._root.setCurrentWidget(self.totp_enrol)
        elif result.must_sign_in_again:
            self.show_login()
            self.login.banner.show_message(
                "ok", "Password saved. Sign in with your new password and your code."
            )
        else:
            self.completed.emit()

    def show_login(self) -> None:
        """The login page, focus in the user name; every sign-in page is emptied first."""
        self.password_change.reset()
        self.totp_enrol.reset()
        self.login.reset()
        self._status.set_user("")
        self._root.setCurrentWidget(self.login)
        self.login.username.setFocus()

    def show_lock(self, event: SessionEvent, *, reauth: bool) -> None:
        """The lock screen for the session's user (``reauth``: the periodic re-authentication,
        which asks for the second factor too). Nothing before the database is open."""
        ctx = self._ctx()
        if ctx is None:
            return
        self.lock_screen.begin(ctx.backend.auth, event.user.user_id, event.user.full_name,
                               reauth=reauth)
        self._root.setCurrentWidget(self.lock_screen)
