"""The lock screen: shown the moment the session locks (inactivity, manual) or needs the
12-hour re-authentication. Shows no PHI: only the signed-in staff member's name.

The same user unlocks with the password (``auth.unlock``) — or password and code when
re-authentication is due (``auth.reauthenticate``). "Sign in as someone else" ends the session.
GUI thread; auth calls on the worker.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QVBoxLayout, QWidget

from ui.backend import AuthPort
from ui.errors import describe
from ui.tasks import TaskRunner
from ui.widgets.common import Banner, button, card, label


class LockScreen(QFrame):
    unlocked = Signal()
    switch_user = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockscreen")
        self._runner = runner
        self._auth: AuthPort | None = None
        self._user_id = ""
        self._full = False
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        frame, form = card()
        frame.setFixedWidth(520)
        outer.addWidget(frame, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)
        self.title = label("Screen locked", "title")
        form.addWidget(self.title)
        self.who = label("", "muted", wrap=True)
        self.who.setObjectName("lockWho")
        form.addWidget(self.who)
        form.addWidget(label("Password"))
        self.password = QLineEdit()
        self.password.setObjectName("unlockPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addWidget(self.password)
        self.code_label = label("Authenticator code")
        self.code = QLineEdit()
        self.code.setObjectName("unlockCode")
        form.addWidget(self.code_label)
        form.addWidget(self.code)
        self.banner = Banner()
        form.addWidget(self.banner)
        self.unlock_button = button("Unlock", "primary", self.submit, name="unlock")
        form.addWidget(self.unlock_button)
        form.addWidget(button("Sign in as someone else", "", self.switch_user.emit))
        self.password.returnPressed.connect(self.submit)
        self.code.returnPressed.connect(self.submit)

    def begin(self, auth: AuthPort, user_id: str, full_name: str, *, reauth: bool) -> None:
        self._auth, self._user_id, self._full = auth, user_id, reauth
        self.password.clear()
        self.code.clear()
        self.banner.clear_message()
        self.code.setVisible(reauth)
        self.code_label.setVisible(reauth)
        if reauth:
            self.title.setText("Please sign in again")
            self.who.setText(
                f"{full_name}: it is time to confirm it is you. Enter your password and code."
            )
        else:
            self.title.setText("Screen locked")
            self.who.setText(f"Locked for {full_name}. Enter your password to continue.")
        self.password.setFocus()

    def submit(self) -> None:
        auth = self._auth
        if auth is None:
            return
        user_id, password, code = self._user_id, self.password.text(), self.code.text().strip()
        self.password.clear()
        self.code.clear()
        full = self._full

        def work() -> None:
            if full:
                auth.reauthenticate(user_id, password, code)
            else:
                auth.unlock(user_id, password)

        self.unlock_button.setEnabled(False)
        self._runner.submit(work, on_success=self._ok, on_failure=self._failed)

    def _ok(self, _result: object) -> None:
        self.unlock_button.setEnabled(True)
        self.banner.clear_message()
        self.unlocked.emit()

    def _failed(self, error: BaseException) -> None:
        self.unlock_button.setEnabled(True)
        self.banner.show_message("error", describe(error).full())
        self.password.setFocus()
