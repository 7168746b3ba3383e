"""Form building blocks of the admin screens: dialogs whose fields show their own errors.

:class:`AdminForm` is a :class:`ui.screens.dialogs.FormDialog` (same look, same ``submitted`` /
``fail`` contract, rejected by the main window when the session locks) whose fields sit in a
scrolling grid, each with an error line under it. ``build()`` turns the widgets into the value
to submit (usually a pydantic model); a pydantic ``ValidationError`` or a :class:`FieldError`
raised there is shown next to the field in plain words and nothing is submitted. Errors from
the service come back through ``fail(error)`` (the red banner, or the field when it names one).

GUI thread only. Building a model is trivial work; nothing here touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import pydantic
from PySide6.QtCore import QDate, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.errors import MarError
from ui.errors import describe
from ui.screens.dialogs import FormDialog
from ui.touch import kinetic
from ui.widgets.common import label

ERROR_STYLE = "color: #7a0016; font-weight: bold; font-size: 16px;"


class FieldError(ValueError):
    """A value the form could not read (``key`` names the field)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


_PLAIN: list[tuple[str, str]] = [
    (r"^String should have at least 1 character", "Required: please fill this in."),
    (r"^Field required", "Required: please fill this in."),
    (r"^String should have at most (\d+) characters?", r"Too long: at most \1 characters."),
    (r"^Input should be greater than or equal to (\S+)", r"Must be at least \1."),
    (r"^Input should be less than or equal to (\S+)", r"Must be at most \1."),
    (r"^Input should be greater than (\S+)", r"Must be more than \1."),
    (r"^Value error, (.*)", r"\1"),
    (r"^Input should be a valid date.*", "Enter a date as YYYY-MM-DD."),
    (r"^Input should be a valid decimal.*", "Enter a number, e.g. 12.5."),
]


def plain_words(message: str, hint: str = "") -> str:
    """A pydantic message in words a nurse or admin understands (``hint`` for patterns)."""
    if message.startswith("String should match pattern"):
        return hint or "Not in the expected format."
    for pattern, replacement in _PLAIN:
        if re.match(pattern, message):
            text = re.sub(pattern, replacement, message)
            return text[:1].upper() + text[1:]
    return message


class FieldGrid(QWidget):
    """A two-column grid of captioned fields, each with an error line under it.

    ``hints`` (field key -> what the format is) words pattern errors; ``aliases`` maps a
    pydantic location prefix (dotted, e.g. ``schedule.times``) to a field key."""

    def __init__(self, parent: QWidget | None = None, *, columns: int = 2) -> None:
        super().__init__(parent)
        self.columns = columns  # 1: every field under the one before (a portrait tablet)
        self.hints: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self._errors: dict[str, QLabel] = {}
        self._parts: dict[str, list[QWidget]] = {}
        self._row = [0, 0]
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 12, 0)
        self.grid.setHorizontalSpacing(20)
        self.grid.setVerticalSpacing(4)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop)

    def add(self, key: str, caption: str, widget: QWidget, *, column: int = 0,
            span: bool = False) -> QWidget:
        """Adds ``widget`` under ``caption`` (with its error line) in ``column`` (0 or 1), or
        across both columns when ``span``. With one column every field goes under the last,
        column 0's fields first (they are added first)."""
        if self.columns == 1:
            column, span = 0, True
        row = max(self._row) if span else self._row[column]
        col = 0 if span else column
        width = 2 if span else 1
        parts: list[QWidget] = [widget]
        if caption:
            caption_label = label(caption, wrap=True)  # narrow portrait screens
            self.grid.addWidget(caption_label, row, col, 1, width)
            parts.append(caption_label)
        widget.setObjectName(widget.objectName() or f"field_{key}")
        widget.setAccessibleName(caption or key)
        if not isinstance(widget, QCheckBox | QPlainTextEdit) and widget.minimumHeight() < 48:
            widget.setMinimumHeight(48)
        self.grid.addWidget(widget, row + 1, col, 1, width)
        error = QLabel("")
        error.setObjectName(f"error_{key}")
        error.setWordWrap(True)
        error.setStyleSheet(ERROR_STYLE)
        error.hide()
        self.grid.addWidget(error, row + 2, col, 1, width)
        self._errors[key] = error
        self._parts[key] = parts
        if span:
            self._row = [row + 3, row + 3]
        else:
            self._row[column] = row + 3
        return widget

    def set_shown(self, key: str, shown: bool) -> None:
        """Shows or hides field ``key`` with its caption (and hides its error)."""
        for part in self._parts.get(key, []):
            part.setVisible(shown)
        if not shown and key in self._errors:
            self._errors[key].hide()

    def section(self, text: str) -> None:
        row = max(self._row)
        self.grid.addWidget(label(text, "section"), row, 0, 1, 2)
        self._row = [row + 1, row + 1]

    def clear_errors(self) -> None:
        for error in self._errors.values():
            error.clear()
            error.hide()

    def field_error(self, key: str, message: str) -> bool:
        """Shows ``message`` under field ``key``; False if there is no such field."""
        target = self._errors.get(key)
        if target is None:
            return False
        target.setText(f"✕ {message}")
        target.show()
        return True

    def error_texts(self) -> dict[str, str]:
        """Field errors shown now, by key."""
        return {k: w.text() for k, w in self._errors.items() if w.text()}

    def _key_for(self, loc: Iterable[object]) -> str:
        parts = [str(p) for p in loc]
        for end in range(len(parts), 0, -1):
            dotted = ".".join(parts[:end])
            if dotted in self.aliases:
                return self.aliases[dotted]
            if dotted in self._errors:
                return dotted
        return ""

    def place(self, error: BaseException) -> list[str]:
        """Shows a pydantic ValidationError or FieldError at its fields; returns the
        messages that have no field (for a banner)."""
        if isinstance(error, FieldError):
            return [] if self.field_error(error.key, error.message) else [error.message]
        assert isinstance(error, pydantic.ValidationError)
        unplaced: list[str] = []
        for item in error.errors():
            key = self._key_for(item.get("loc", ()))
            text = plain_words(str(item.get("msg", "")), self.hints.get(key, ""))
            if not key or not self.field_error(key, text):
                unplaced.append(text)
        return list(dict.fromkeys(unplaced))


def captioned(caption: str, widget: QWidget) -> QWidget:
    """``widget`` under its caption (a filter bar's field: the audit log, the access report)."""
    holder = QWidget()
    column = QVBoxLayout(holder)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(4)
    column.addWidget(label(caption, wrap=True))
    column.addWidget(widget)
    return holder


def banner_text(unplaced: list[str]) -> str:
    return " ".join(unplaced) if unplaced else "Check the fields marked ✕."


WIDE_FORM = 980  # a two-column form's width


def room_for_dialogs(parent: QWidget | None) -> QSize:
    """The most a dialog over ``parent`` may take: its window (the app runs full-screen on a
    tablet), else the screen's available area."""
    if parent is not None:
        return parent.window().size()
    screen = QGuiApplication.primaryScreen()
    return screen.availableSize() if screen is not None else QSize(1280, 800)


class AdminForm(FormDialog):
    """A form dialog around a scrolling :class:`FieldGrid`.

    Subclasses add fields with :meth:`add`, implement :meth:`build` and may set ``hints`` and
    ``aliases`` on ``self.form``. ``submitted`` carries ``{"value": build()}``.
    """

    def __init__(self, title: str, intro: str, action: str, parent: QWidget | None,
                 *, wide: bool = False) -> None:
        super().__init__(title, intro, action, parent)
        room = room_for_dialogs(parent)
        two = wide and room.width() >= WIDE_FORM + 40
        self.setMinimumWidth(min(WIDE_FORM if two else 760 if wide else 600, room.width() - 40))
        self.setMaximumSize(room)
        self.form = FieldGrid(columns=2 if two or not wide else 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.form)
        scroll.setMinimumHeight(160)
        kinetic(scroll)
        self.scroll_area = scroll
        self.fields.addWidget(scroll, 1)

    def add(self, key: str, caption: str, widget: QWidget, *, column: int = 0,
            span: bool = False) -> QWidget:
        return self.form.add(key, caption, widget, column=column, span=span)

    def section(self, text: str) -> None:
        self.form.section(text)

    def error_texts(self) -> dict[str, str]:
        return self.form.error_texts()

    def build(self) -> object:
        return self.values()

    def _submit(self) -> None:
        self.banner.clear_message()
        self.form.clear_errors()
        try:
            value = self.build()
        except (FieldError, pydantic.ValidationError) as bad:
            self.banner.show_message("error", banner_text(self.form.place(bad)))
            return
        except MarError as bad:
            self.banner.show_message("error", describe(bad).full())
            return
        self.ok.setEnabled(False)
        self.submitted.emit({"value": value})

    def fail(self, error: BaseException) -> None:
        if isinstance(error, pydantic.ValidationError):
            self.ok.setEnabled(True)
            self.banner.show_message("error", banner_text(self.form.place(error)))
            return
        super().fail(error)


# ---- small readers ------------------------------------------------------------------------------
def text_of(widget: QLineEdit | QPlainTextEdit) -> str:
    return (widget.toPlainText() if isinstance(widget, QPlainTextEdit) else widget.text()).strip()


def decimal_of(key: str, text: str, *, required: bool = True) -> Decimal | None:
    text = text.strip()
    if not text:
        if required:
            raise FieldError(key, "Required: please fill this in.")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldError(key, "Enter a number, e.g. 12.5.") from None
    if not value.is_finite():
        raise FieldError(key, "Enter a number, e.g. 12.5.")
    return value


def int_of(key: str, text: str, *, required: bool = False) -> int | None:
    text = text.strip()
    if not text:
        if required:
            raise FieldError(key, "Required: please fill this in.")
        return None
    if not text.isdigit():
        raise FieldError(key, "Enter a whole number.")
    return int(text)


def date_of(qdate: QDate) -> date:
    return date(qdate.year(), qdate.month(), qdate.day())


def lines_of(text: str, split: Callable[[str], list[str]] | None = None) -> list[str]:
    parts = split(text) if split else re.split(r"[,\s]+", text)
    return [p.strip() for p in parts if p.strip()]


def local_text(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if moment is None else moment.astimezone().strftime(fmt)
