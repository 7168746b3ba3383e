"""Small forms: amend a note, void an entry, PRN follow-up, acknowledge an alert, witness
sign-in and emergency access. GUI thread only.

Every dialog is opened with ``open()`` (no nested event loop) and reports through its
``submitted`` signal with the values; the caller runs the service call on the worker and calls
``fail(error)`` to show a refusal inline or ``accept()`` on success. The main window rejects
every open dialog the moment the session locks.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.model import Unit
from ui.errors import describe
from ui.widgets.common import Banner, button, label


class FormDialog(QDialog):
    submitted = Signal(dict)

    def __init__(self, title: str, intro: str, action: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("formDialog")
        self.setMinimumWidth(560)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(24, 20, 24, 20)
        self.body.setSpacing(10)
        self.body.addWidget(label(title, "subtitle"))
        if intro:
            self.body.addWidget(label(intro, "muted", wrap=True))
        self.fields = QVBoxLayout()
        self.body.addLayout(self.fields)
        self.banner = Banner()
        self.body.addWidget(self.banner)
        row = QHBoxLayout()
        row.addWidget(button("Cancel", "", self.reject))
        self.ok = button(action, "primary", self._submit, name="dialogOk")
        row.addWidget(self.ok, 1)
        self.body.addLayout(row)

    def text_field(self, caption: str, *, multiline: bool = True, secret: bool = False
                   ) -> QPlainTextEdit | QLineEdit:
        self.fields.addWidget(label(caption))
        field: QPlainTextEdit | QLineEdit
        if multiline:
            field = QPlainTextEdit()
            field.setFixedHeight(110)
        else:
            field = QLineEdit()
            if secret:
                field.setEchoMode(QLineEdit.EchoMode.Password)
        field.setAccessibleName(caption)
        self.fields.addWidget(field)
        return field

    def values(self) -> dict[str, object]:
        return {}

    def missing(self) -> str:
        """What the person still has to fill in, in words (shown on the form; nothing is sent),
        or "" when the form can be submitted."""
        return ""

    def _submit(self) -> None:
        self.banner.clear_message()
        needed = self.missing()
        if needed:
            self.banner.show_message("warning", needed)
            return
        self.ok.setEnabled(False)
        self.submitted.emit(self.values())

    def fail(self, error: BaseException) -> None:
        self.ok.setEnabled(True)
        self.banner.show_message("error", describe(error).full())


def _text(field: QPlainTextEdit | QLineEdit) -> str:
    return field.toPlainText() if isinstance(field, QPlainTextEdit) else field.text()


class NoteDialog(FormDialog):
    def __init__(self, current: str, parent: QWidget | None) -> None:
        super().__init__(
            "Amend note",
            "The original note stays on record; your amendment is added with your name and "
            "the time. Notes can be amended for 2 hours by the person who recorded the dose.",
            "Save amendment",
            parent,
        )
        self.note = self.text_field("Note")
        self.note.setPlainText(current)  # type: ignore[union-attr]

    def values(self) -> dict[str, object]:
        return {"text": _text(self.note)}


class VoidDialog(FormDialog):
    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(
            "Void entry (entered in error)",
            "The entry stays readable, struck through, with your reason. This cannot be "
            "undone.",
            "Void entry",
            parent,
        )
        self.ok.setProperty("kind", "danger")
        self.reason = self.text_field("Reason")

    def values(self) -> dict[str, object]:
        return {"reason": _text(self.reason)}


EFFECTS = (
    ("effective", "✓ Effective"),
    ("partially_effective", "◐ Partly effective"),
    ("not_effective", "✕ Not effective"),
)


class FollowupDialog(FormDialog):
    def __init__(self, what: str, parent: QWidget | None) -> None:
        super().__init__("PRN follow-up", f"How well did it work? {what}", "Save", parent)
        row = QHBoxLayout()
        self.group = QButtonGroup(self)
        for key, text in EFFECTS:
            choice = button(text, "outcome", checkable=True, name=f"effect_{key}")
            choice.setProperty("effect", key)
            self.group.addButton(choice)
            row.addWidget(choice)
        self.fields.addLayout(row)
        self.pain = QCheckBox("Record a pain score (0–10)")
        self.fields.addWidget(self.pain)
        self.pain_score = QSpinBox()
        self.pain_score.setRange(0, 10)
        self.fields.addWidget(self.pain_score)
        self.note = self.text_field("Note (optional)")

    def missing(self) -> str:
        if self.group.checkedButton() is None:
            return "Choose how well it worked: Effective, Partly effective or Not effective."
        return ""

    def values(self) -> dict[str, object]:
        chosen = self.group.checkedButton()
        return {
            "effective": chosen.property("effect") if chosen else "",
            "pain_score": self.pain_score.value() if self.pain.isChecked() else None,
            "note": _text(self.note),
        }


class AcknowledgeDialog(FormDialog):
    def __init__(self, detail: str, parent: QWidget | None) -> None:
        super().__init__("Acknowledge alert", detail, "Acknowledge", parent)
        self.comment = self.text_field("What did you check or do?")

    def values(self) -> dict[str, object]:
        return {"comment": _text(self.comment)}


class WitnessDialog(FormDialog):
    """The witness signs in on this device with password and code (Schedule II)."""

    def __init__(self, what: str, parent: QWidget | None) -> None:
        super().__init__(
            "Witness sign-in",
            f"A second licensed person witnesses: {what}. The witness signs in here.",
            "Sign as witness",
            parent,
        )
        self.username = self.text_field("Witness username", multiline=False)
        self.password = self.text_field("Witness password", multiline=False, secret=True)
        self.code = self.text_field("Witness authenticator code", multiline=False)

    def values(self) -> dict[str, object]:
        values = {
            "username": _text(self.username).strip().lower(),
            "password": _text(self.password),
            "code": _text(self.code).strip(),
        }
        self.password.clear()
        self.code.clear()
        return values  # type: ignore[return-value]


class EmergencyDialog(FormDialog):
    """Break-the-glass: a stated reason, the units, for a limited time; audited."""

    def __init__(self, units: Sequence[Unit], minutes: int, parent: QWidget | None) -> None:
        super().__init__(
            "⚠ Emergency access",
            f"See residents outside your assignment for {minutes} minutes. Your reason is "
            "recorded and reviewed. A red banner shows while access lasts.",
            "Start emergency access",
            parent,
        )
        self.ok.setProperty("kind", "danger")
        self.boxes: list[tuple[QCheckBox, str]] = []
        for unit in units:
            box = QCheckBox(unit.name)
            box.setChecked(len(units) == 1)
            self.fields.addWidget(box)
            self.boxes.append((box, unit.unit_id))
        self.reason = self.text_field("Reason")
        self.fields.setAlignment(Qt.AlignmentFlag.AlignTop)

    def values(self) -> dict[str, object]:
        return {
            "reason": _text(self.reason),
            "unit_ids": [uid for box, uid in self.boxes if box.isChecked()],
        }
