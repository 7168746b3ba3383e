"""Small forms: amend a note, void an entry, PRN follow-up, acknowledge an alert, witness
sign-in and emergency access. GUI thread only.

Every dialog is opened with ``open()`` (no nested event loop) and reports through its
``submitted`` signal with the values; the caller runs the service call on the worker and calls
``fail(error)`` to show a refusal inline or ``accept()`` on success. An input problem is shown
under its field (checked before sending where the form can tell, else from the refusal's code),
never in a separate error box. The main window rejects every open dialog the moment the
session locks.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.model import Unit
from ui.errors import describe
from ui.widgets.common import Banner, button, label, mark_invalid


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
        self.field_codes: dict[str, QWidget] = {}
        """Refusal codes (``RuleViolation.code``) shown under a field rather than below."""
        self._error: tuple[QWidget, QLabel] | None = None
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

    def missing_field(self) -> tuple[QWidget, str] | None:
        """A field still to fill in and what to say under it, or None (checked before
        :meth:`missing`; nothing is sent while one is returned)."""
        return None

    def _submit(self) -> None:
        self.banner.clear_message()
        self.clear_field_error()
        empty = self.missing_field()
        if empty is not None:
            self.show_field_error(*empty)
            return
        needed = self.missing()
        if needed:
            self.banner.show_message("warning", needed)
            return
        self.ok.setEnabled(False)
        self.submitted.emit(self.values())

    def fail(self, error: BaseException) -> None:
        """Shows a refusal: under its field when :attr:`field_codes` names one, else below."""
        self.ok.setEnabled(True)
        text = describe(error)
        field = self.field_codes.get(text.code)
        if field is not None:
            self.show_field_error(field, text.message)
        else:
            self.banner.show_message("error", text.full())

    def show_field_error(self, field: QWidget, message: str) -> None:
        """``message`` right under ``field`` (one at a time), the field marked and focused."""
        self.clear_field_error()
        note = label(message, "fieldError", wrap=True)
        note.setObjectName("fieldError")
        self.fields.insertWidget(self.fields.indexOf(field) + 1, note)
        self._error = (field, note)
        mark_invalid(field, True)
        field.setFocus()

    def field_error(self) -> str:
        """The message shown under a field, or ""."""
        return "" if self._error is None else self._error[1].text()

    def clear_field_error(self) -> None:
        if self._error is None:
            return
        field, note = self._error
        self._error = None
        mark_invalid(field, False)
        self.fields.removeWidget(note)
        note.deleteLater()



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
    """Voids one entry, named in full (``what``: time, drug, outcome, who) so the right one
    is voided."""

    def __init__(self, what: str, parent: QWidget | None) -> None:
        super().__init__(
            "Void entry (entered in error)",
            "The entry stays readable, struck through, with your reason. This cannot be "
            "undone.",
            "Void entry",
            parent,
        )
        self.ok.setProperty("kind", "danger")
        self.entry = label(what, "", wrap=True)
        self.entry.setObjectName("voidedEntry")
        self.entry.setTextFormat(Qt.TextFormat.PlainText)
        self.entry.setStyleSheet("font-weight: bold;")
        self.fields.addWidget(label("Entry to void:"))
        self.fields.addWidget(self.entry)
        self.reason = self.text_field("Reason")
        self.field_codes["void_reason"] = self.reason

    def missing_field(self) -> tuple[QWidget, str] | None:
        if not _text(self.reason).strip():
            return self.reason, "Enter why this entry is being voided."
        return None

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

    def missing_field(self) -> tuple[QWidget, str] | None:
        for field, words in ((self.username, "Enter the witness's username."),
                             (self.password, "The witness enters their password."),
                             (self.code, "The witness enters the code from their "
                                         "authenticator.")):
            if not _text(field).strip():
                return field, words
        return None

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
