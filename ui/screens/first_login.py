"""First sign-in steps: forced password change, then TOTP enrolment with a QR code and the
recovery codes shown once.

GUI thread; the auth calls run on the worker. Both screens emit ``done(SignInResult)`` when
their step succeeded; ``cancelled`` returns to the login screen. Secrets (the TOTP setup, the
recovery codes) live only in the widgets and are cleared by ``reset()``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from mar_desktop.errors import PasswordRejected
from ui.backend import AuthPort, SignInResult, TotpSetup
from ui.errors import describe
from ui.tasks import TaskRunner
from ui.widgets.common import Banner, button, card, label


def _page(parent: QWidget | None) -> tuple[QFrame, QVBoxLayout]:
    page = QFrame(parent)
    page.setObjectName("authpage")
    outer = QHBoxLayout(page)
    outer.setContentsMargins(40, 30, 40, 30)
    frame, layout = card()
    frame.setMinimumWidth(620)
    frame.setMaximumWidth(900)
    outer.addStretch(1)
    outer.addWidget(frame, 0, Qt.AlignmentFlag.AlignVCenter)
    outer.addStretch(1)
    return page, layout


class PasswordChangeScreen(QWidget):
    done = Signal(object)
    cancelled = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._auth: AuthPort | None = None
        self._result: SignInResult | None = None
        page, form = _page(self)
        QVBoxLayout(self).addWidget(page)
        self.layout().setContentsMargins(0, 0, 0, 0)  # type: ignore[union-attr]
        form.addWidget(label("Choose your own password", "title"))
        form.addWidget(
            label(
                "Your account was set up with a temporary password. Choose a new one: at least "
                "12 characters – a short sentence is easy to remember. No special rules.",
                "muted",
                wrap=True,
            )
        )
        self.new = self._secret("New password", form)
        self.repeat = self._secret("New password again", form)
        self.banner = Banner()
        form.addWidget(self.banner)
        row = QHBoxLayout()
        row.addWidget(button("Cancel", "", self._cancel))
        self.save = button("Save password", "primary", self.submit, name="savePassword")
        row.addWidget(self.save, 1)
        form.addLayout(row)

    @staticmethod
    def _secret(caption: str, form: QVBoxLayout) -> QLineEdit:
        form.addWidget(label(caption))
        field = QLineEdit()
        field.setEchoMode(QLineEdit.EchoMode.Password)
        field.setAccessibleName(caption)
        form.addWidget(field)
        return field

    def begin(self, auth: AuthPort, result: SignInResult) -> None:
        self._auth, self._result = auth, result
        self.reset()
        self.new.setFocus()

    def reset(self) -> None:
        for field in (self.new, self.repeat):
            field.clear()
        self.banner.clear_message()

    def _cancel(self) -> None:
        self.reset()
        self.cancelled.emit()

    def submit(self) -> None:
        auth, result = self._auth, self._result
        if auth is None or result is None:
            return
        new = self.new.text()
        if new != self.repeat.text():
            self.banner.show_message("warning", "The two new passwords are not the same.")
            return
        user_id = result.user.user_id
        self.save.setEnabled(False)
        self._runner.submit(
            lambda: auth.change_password(user_id, new),
            on_success=self._ok,
            on_failure=self._failed,
        )

    def _ok(self, result: SignInResult) -> None:
        self.save.setEnabled(True)
        self.reset()
        self.done.emit(result)

    def _failed(self, error: BaseException) -> None:
        self.save.setEnabled(True)
        if isinstance(error, PasswordRejected):
            reasons = "\n".join(f"• {r}" for r in error.reasons)
            self.banner.show_message("error", f"Password not accepted:\n{reasons}")
        else:
            self.banner.show_message("error", describe(error).full())


class TotpEnrolScreen(QWidget):
    done = Signal(object)
    cancelled = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._auth: AuthPort | None = None
        self._result: SignInResult | None = None
        self._setup: TotpSetup | None = None
        self._finished: SignInResult | None = None
        page, form = _page(self)
        QVBoxLayout(self).addWidget(page)
        self.layout().setContentsMargins(0, 0, 0, 0)  # type: ignore[union-attr]
        form.addWidget(label("Set up your authenticator", "title"))
        self.steps = label(
            "1. Open the authenticator app on your phone and scan this code.\n"
            "2. Type the 6-digit code the app shows, then tap Confirm.",
            "muted",
            wrap=True,
        )
        form.addWidget(self.steps)
        row = QHBoxLayout()
        self.qr = QLabel()
        self.qr.setObjectName("totpQr")
        self.qr.setFixedSize(260, 260)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setStyleSheet("background: #ffffff;")
        row.addWidget(self.qr)
        side = QVBoxLayout()
        side.addWidget(label("Can't scan? Type this key into the app:", "muted", wrap=True))
        self.manual = label("")
        self.manual.setObjectName("manualKey")
        self.manual.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.manual.setStyleSheet("font-family: 'DejaVu Sans Mono'; font-size: 20px;")
        self.manual.setWordWrap(True)
        side.addWidget(self.manual)
        side.addWidget(label("Code from the app"))
        self.code = QLineEdit()
        self.code.setObjectName("enrolCode")
        self.code.setMaxLength(6)
        self.code.returnPressed.connect(self.submit)
        side.addWidget(self.code)
        side.addStretch(1)
        row.addLayout(side, 1)
        form.addLayout(row)
        self.recovery = label("")
        self.recovery.setObjectName("recoveryCodes")
        self.recovery.setStyleSheet("font-family: 'DejaVu Sans Mono'; font-size: 20px;")
        self.recovery.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recovery.hide()
        form.addWidget(self.recovery)
        self.banner = Banner()
        form.addWidget(self.banner)
        buttons = QHBoxLayout()
        self.cancel_button = button("Cancel", "", self._cancel)
        buttons.addWidget(self.cancel_button)
        self.confirm = button("Confirm", "primary", self.submit, name="confirmTotp")
        buttons.addWidget(self.confirm, 1)
        self.continue_button = button(
            "I have written them down – continue", "primary", self._continue, name="continue"
        )
        self.continue_button.hide()
        buttons.addWidget(self.continue_button, 1)
        form.addLayout(buttons)

    def begin(self, auth: AuthPort, result: SignInResult) -> None:
        self._auth, self._result = auth, result
        self.reset()
        self.banner.show_message("info", "Preparing your code…")
        user_id = result.user.user_id

        def work() -> tuple[TotpSetup, bytes]:
            from mar_desktop.people.totp import qr_png

            setup = auth.start_totp_enrolment(user_id)
            return setup, qr_png(setup.uri, scale=6)

        self._runner.submit(work, on_success=self._show, on_failure=self._failed)

    def _show(self, payload: tuple[TotpSetup, bytes]) -> None:
        self._setup, png = payload
        pixmap = QPixmap()
        pixmap.loadFromData(png)
        self.qr.setPixmap(
            pixmap.scaled(
                250,
                250,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
        )
        self.manual.setText(self._setup.manual_key)  # already grouped for reading aloud
        self.banner.clear_message()
        self.code.setFocus()

    def reset(self) -> None:
        self._setup = None
        self._finished = None
        self.qr.clear()
        self.manual.clear()
        self.code.clear()
        self.recovery.clear()
        self.recovery.hide()
        self.banner.clear_message()
        self.steps.show()
        self.continue_button.hide()
        self.confirm.show()
        self.confirm.setEnabled(True)
        self.cancel_button.show()

    def _cancel(self) -> None:
        self.reset()
        self.cancelled.emit()

    def submit(self) -> None:
        auth, result, setup = self._auth, self._result, self._setup
        if auth is None or result is None or setup is None:
            return
        code = self.code.text().strip()
        self.code.clear()
        user_id = result.user.user_id
        self.confirm.setEnabled(False)
        self._runner.submit(
            lambda: auth.confirm_totp_enrolment(user_id, setup, code),
            on_success=self._confirmed,
            on_failure=self._failed,
        )

    def _confirmed(self, payload: tuple[SignInResult, list[str]]) -> None:
        self._finished, codes = payload
        self._setup = None
        self.qr.clear()
        self.manual.clear()
        self.steps.hide()
        self.confirm.hide()
        self.cancel_button.hide()
        self.banner.show_message(
            "ok",
            "Authenticator set up. These recovery codes are shown ONCE: write them down and "
            "keep them safe. Each works one time if you lose your phone.",
        )
        lines = [f"{a:<14}{b}" for a, b in zip(codes[0::2], codes[1::2], strict=False)]
        self.recovery.setText("\n".join(lines))
        self.recovery.show()
        self.continue_button.show()

    def _continue(self) -> None:
        finished = self._finished
        self.reset()
        if finished is not None:
            self.done.emit(finished)

    def _failed(self, error: BaseException) -> None:
        self.confirm.setEnabled(True)
        self.banner.show_message("error", describe(error).full())
