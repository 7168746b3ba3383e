"""Login: username, password and the authenticator code (or a recovery code), plus the demo
accounts panel when the composition root passes demo accounts in.

GUI thread. Sign-in runs on the worker (``auth.sign_in``: Argon2 takes ~100 ms); the password
and code fields are cleared after every attempt; failures show inline with the safe message
(:func:`ui.errors.describe`), once. A throttled account's wait counts down each second (a
timer owned here, stopped when done or hidden); a refusal about one account goes away as
soon as another username is typed or picked. Emits ``signed_in(SignInResult)``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.errors import AuthError, Throttled
from ui.backend import AuthPort, DemoAccount, SignInResult
from ui.errors import describe
from ui.tasks import TaskRunner
from ui.widgets.common import Banner, button, card, label

FORM_WIDTH = 500  # the sign-in card's least width
DEMO_WIDTH = 600  # the demo accounts panel's least width (DemoPanel)
SIDE_BY_SIDE_WIDTH = 40 + FORM_WIDTH + 30 + DEMO_WIDTH + 40 + 2 * 30
"""The page width from which the demo panel sits beside the form (margins and spacing)."""


class LoginScreen(QFrame):
    signed_in = Signal(object)  # SignInResult

    def __init__(
        self,
        runner: TaskRunner,
        demo_accounts: Sequence[DemoAccount] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("authpage")
        self._runner = runner
        self._auth: AuthPort | None = None
        self._recovery = False
        self._busy = False
        self._refused_for = ""  # the username the message on show is about ("" for none)
        self._wait_until = 0.0  # monotonic time a throttled account may try again
        self.now: Callable[[], float] = time.monotonic
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._count_down)
        outer = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)  # see _arrange
        outer.setContentsMargins(40, 30, 40, 30)
        outer.setSpacing(30)
        outer.addStretch(1)
        form_card, form = card()
        form_card.setMinimumWidth(FORM_WIDTH)
        form_card.setMaximumWidth(560)
        self._form_card = form_card
        form.addWidget(label("MAR Desktop", "title"))
        form.addWidget(label("Sign in to start the medication pass", "muted"))
        self.username = self._field("Username", form)
        self.password = self._field("Password", form, secret=True)
        self.code_label = label("Authenticator code (not needed at first sign-in)")
        form.addWidget(self.code_label)
        self.code = QLineEdit()
        self.code.setObjectName("code")
        self.code.setMaxLength(20)
        self.code.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        form.addWidget(self.code)
        self.banner = Banner()
        form.addWidget(self.banner)
        self.sign_in_button = button("Sign in", "primary", self.submit, name="signIn")
        form.addWidget(self.sign_in_button)
        self.recovery_button = button("Use a recovery code instead", "", self.toggle_recovery)
        form.addWidget(self.recovery_button)
        form.addStretch(1)
        for widget in (self.username, self.password, self.code):
            widget.returnPressed.connect(self.submit)
        self.username.textChanged.connect(self._username_changed)
        outer.addWidget(form_card, 0, Qt.AlignmentFlag.AlignVCenter)
        self.demo_panel: DemoPanel | None = None
        outer.addStretch(1)
        self.set_auth(None)
        self.set_demo_accounts(demo_accounts)

    @staticmethod
    def _field(caption: str, form: QVBoxLayout, *, secret: bool = False) -> QLineEdit:
        form.addWidget(label(caption))
        field = QLineEdit()
        field.setObjectName(caption.lower())
        field.setAccessibleName(caption)
        if secret:
            field.setEchoMode(QLineEdit.EchoMode.Password)
        form.addWidget(field)
        return field

    def set_auth(self, auth: AuthPort | None, status: str = "") -> None:
        """Enables signing in once the database is open (``auth`` given)."""
        self._auth = auth
        self.sign_in_button.setEnabled(auth is not None)
        if auth is None:
            self.banner.show_message("info", status or "Opening the secure database…")
        else:
            self.banner.clear_message()
            self.username.setFocus()

    def toggle_recovery(self) -> None:
        self._recovery = not self._recovery
        self.code.clear()
        if self._recovery:
            self.code_label.setText("Recovery code (from your printed list)")
            self.recovery_button.setText("Use the authenticator code instead")
        else:
            self.code_label.setText("Authenticator code (not needed at first sign-in)")
            self.recovery_button.setText("Use a recovery code instead")

    def set_demo_accounts(self, accounts: Sequence[DemoAccount]) -> None:
        """Adds the demo panel (``--demo`` only) beside the sign-in form."""
        if self.demo_panel is not None or not accounts:
            return
        self.demo_panel = DemoPanel(accounts, self.fill)
        layout = self.layout()
        assert isinstance(layout, QBoxLayout)
        layout.insertWidget(2, self.demo_panel, 0, Qt.AlignmentFlag.AlignVCenter)
        self._arrange()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """The demo panel beside the form where the page is wide enough for both, else under
        it (a portrait tablet): the two never overlap or run off the page."""
        layout = self.layout()
        assert isinstance(layout, QBoxLayout)
        side_by_side = self.demo_panel is None or self.width() >= SIDE_BY_SIDE_WIDTH
        direction = (QBoxLayout.Direction.LeftToRight if side_by_side
                     else QBoxLayout.Direction.TopToBottom)
        if layout.direction() == direction:
            return
        layout.setDirection(direction)
        centre = Qt.AlignmentFlag.AlignVCenter if side_by_side else Qt.AlignmentFlag.AlignHCenter
        for widget in (self._form_card, self.demo_panel):
            if widget is not None:
                layout.setAlignment(widget, centre)

    def fill(self, account: DemoAccount) -> None:
        self.username.setText(account.username)
        self.password.setText(account.password)
        self.code.setText(account.code())
        self.sign_in_button.setFocus()

    def reset(self) -> None:
        for field in (self.username, self.password, self.code):
            field.clear()
        self._forget_refusal()
        if self._auth is None:
            self.set_auth(None)

    def submit(self) -> None:
        auth = self._auth
        if auth is None or self._busy:
            return
        username = self.username.text().strip().lower()
        password, code = self.password.text(), self.code.text().strip()
        if not username or not password:
            self.banner.show_message("warning", "Enter your username and password.")
            return
        self.password.clear()
        self.code.clear()
        self._forget_refusal()
        self._busy = True
        self.sign_in_button.setEnabled(False)
        self.banner.show_message("info", "Checking…")
        recovery = self._recovery

        def work() -> SignInResult:
            if recovery:
                return auth.sign_in_with_recovery(username, password, code)
            return auth.sign_in(username, password, code)

        self._runner.submit(work, on_success=self._done, on_failure=self._failed)

    def _done(self, result: SignInResult) -> None:
        self._busy = False
        self.sign_in_button.setEnabled(True)
        self.banner.clear_message()
        if self._recovery:
            self.toggle_recovery()
        self.signed_in.emit(result)

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self.sign_in_button.setEnabled(True)
        if isinstance(error, AuthError):  # wrong credentials, throttled, locked
            self._refused_for = self.username.text().strip().lower()
        if isinstance(error, Throttled):
            self._wait_until = self.now() + error.retry_after
            self._count_down()
            self._countdown.start()
        else:
            self.banner.show_message("error", describe(error).full())
        self.password.setFocus()

    def _count_down(self) -> None:
        """The throttle's wait as it stands now; at zero, that the account may try again."""
        left = math.ceil(self._wait_until - self.now())
        if left > 0:
            unit = "second" if left == 1 else "seconds"
            self.banner.show_message(
                "error", f"Too many failed sign-ins. Try again in {left} {unit}."
            )
        else:
            self._countdown.stop()
            self._wait_until = 0.0
            self.banner.show_message("info", "You can try to sign in again now.")

    def _username_changed(self, text: str) -> None:
        if self._refused_for and text.strip().lower() != self._refused_for:
            self._forget_refusal()

    def _forget_refusal(self) -> None:
        """Drops the message about the account refused before, and its countdown."""
        self._countdown.stop()
        self._refused_for = ""
        self._wait_until = 0.0
        self.banner.clear_message()

    def showEvent(self, event: QShowEvent) -> None:
        if self._wait_until:  # a countdown stopped while hidden goes on from where it is now
            self._count_down()
            if self._wait_until:
                self._countdown.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._countdown.stop()
        super().hideEvent(event)


class DemoPanel(QFrame):
    """Demo accounts with their passwords and the live TOTP code (refreshed every second while
    shown). Only ever built in ``--demo`` mode."""

    def __init__(
        self, accounts: Sequence[DemoAccount], on_use: Callable[[DemoAccount], None]
    ) -> None:
        super().__init__()
        self.setObjectName("demoPanel")
        self.setMinimumWidth(DEMO_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 16)
        layout.addWidget(label("⚠ Demo facility – made-up data", "subtitle"))
        layout.addWidget(
            label("Tap “Use” to fill in an account, then Sign in.", "muted", wrap=True)
        )
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(8)
        for col, head in enumerate(("Who", "Username", "Password", "Code", "")):
            grid.addWidget(label(f"<b>{head}</b>"), 0, col)
        self._codes: list[tuple[QLabel, DemoAccount]] = []
        for row, account in enumerate(accounts, start=1):
            grid.addWidget(label(f"{account.name}<br><small>{account.role}</small>"), row, 0)
            grid.addWidget(label(account.username), row, 1)
            secret = label(account.password, wrap=True)
            secret.setMinimumWidth(170)
            grid.addWidget(secret, row, 2)
            code = label(account.code())
            code.setObjectName(f"demoCode_{account.username}")
            code.setStyleSheet(
                "font-family: 'DejaVu Sans Mono'; font-size: 20px; font-weight: bold;"
            )
            grid.addWidget(code, row, 3)
            use = button("Use", "", functools.partial(on_use, account))
            use.setObjectName(f"demoUse_{account.username}")
            grid.addWidget(use, row, 4)
            self._codes.append((code, account))
        layout.addLayout(grid)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)

    def refresh(self) -> None:
        for widget, account in self._codes:
            widget.setText(account.code())

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh()
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)
