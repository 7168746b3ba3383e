"""What every admin screen shares: the header (title, intro, refresh), the message banner,
running work for the signed-in admin on the worker, and simple dialogs (a reason, a choice).

GUI thread only. ``run(work)`` calls ``work(principal, services)`` on the TaskRunner worker,
where ``services`` is the backend's :class:`~ui.backend.AdminServices`; failures show
in the screen's banner through :func:`ui.errors.describe` unless a handler is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.permissions import Principal
from ui.admin.forms import AdminForm, FieldError, text_of
from ui.backend import AdminServices
from ui.context import UiContext
from ui.errors import describe
from ui.tasks import TaskHandle
from ui.touch import kinetic
from ui.widgets.common import Banner, button, label

Work = Callable[[Principal, AdminServices], Any]


ADMIN_QSS = """
QDateEdit, QDateTimeEdit { background: #ffffff; border: 2px solid #8895a3; border-radius: 8px;
    padding: 6px 10px; min-height: 30px; font-size: 18px; }
QDateEdit:focus, QDateTimeEdit:focus { border: 3px solid #0b4f9c; }
QLineEdit:disabled, QDateEdit:disabled, QDateTimeEdit:disabled, QComboBox:disabled {
    background: #e4e9ef; color: #4a5561; border-color: #aab3bd; }
QPushButton[kind="danger"]:disabled { color: #6b7580; border-color: #aab3bd; background: #eceff2; }
"""


class AdminScreen(QWidget):
    """Base of the admin screens: header, banner, worker calls."""

    def __init__(self, ctx: UiContext, title: str, intro: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setStyleSheet(ADMIN_QSS)
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(20, 16, 20, 12)
        self.outer.setSpacing(10)
        self.head = QHBoxLayout()
        self.head.addWidget(label(title, "title", wrap=True), 1)  # wraps on a portrait tablet
        self.head.addStretch(1)
        self.refresh_button = button("⟳ Refresh", "", self.refresh, name="adminRefresh")
        self.head.addWidget(self.refresh_button)
        self.outer.addLayout(self.head)
        if intro:
            self.outer.addWidget(label(intro, "muted", wrap=True))
        self.banner = Banner()
        self.banner.setObjectName("adminBanner")
        self.outer.addWidget(self.banner)

    def run(self, work: Work, on_success: Callable[[Any], None] | None = None,
            on_failure: Callable[[BaseException], None] | None = None) -> TaskHandle | None:
        services = self.ctx.backend.admin
        return self.ctx.run(
            lambda principal: work(principal, services),
            on_success,
            on_failure or self.show_error,
        )

    def show_error(self, error: BaseException) -> None:
        self.banner.show_message("error", describe(error).full())

    def refresh(self) -> None:  # overridden
        """Reloads the screen's data on the worker."""

    def clear_phi(self) -> None:  # overridden where the screen shows PHI
        self.banner.clear_message()

    def submit_form(self, dialog: AdminForm, work: Callable[[Principal, AdminServices, Any], Any],
                    done: Callable[[Any], None]) -> None:
        """Opens ``dialog``; on submit runs ``work(principal, services, value)`` on the worker;
        a refusal or validation error shows in the dialog, success closes it and calls
        ``done(result)``."""

        def submitted(values: dict[str, object]) -> None:
            value = values["value"]

            def finished(result: Any) -> None:
                dialog.accept()
                done(result)

            handle = self.run(lambda p, s: work(p, s, value), finished, dialog.fail)
            if handle is None:
                dialog.reject()

        dialog.submitted.connect(submitted)
        dialog.open()


def table(columns: Sequence[str], name: str) -> QTableWidget:
    """A read-only, row-selecting table in the app's style (54 px rows) that scrolls with a
    finger or a mouse press-drag (:func:`ui.touch.kinetic`)."""
    widget = QTableWidget(0, len(columns))
    widget.setObjectName(name)
    widget.setHorizontalHeaderLabels(list(columns))
    widget.verticalHeader().setVisible(False)
    widget.verticalHeader().setDefaultSectionSize(54)
    widget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    widget.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    widget.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    widget.setAlternatingRowColors(True)
    widget.setWordWrap(False)
    header = widget.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    kinetic(widget)
    return widget


CELL_MARGIN = 9  # each side of a cell's text: the theme's item padding and Qt's text margin


class ColumnFitter(QObject):
    """Keeps a table's columns inside its width, so it never scrolls sideways: each column
    gets the width of its text when all fit; otherwise every column keeps room for its
    longest word (and its header) and the rest is shared by how much more each would like,
    with the text wrapping inside its cell and rows as high as their text (never under
    ``MIN_ROW`` px, a touch target). Runs when the view resizes and on :meth:`fit` (call it
    after filling the table). GUI thread."""

    MIN_ROW = 48

    def __init__(self, widget: QTableWidget) -> None:
        super().__init__(widget)
        self.table = widget
        widget.setWordWrap(True)
        widget.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        widget.verticalHeader().setMinimumSectionSize(self.MIN_ROW)
        header = widget.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(False)
        widget.viewport().installEventFilter(self)
        self._width = -1

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.table.viewport().width() != self._width:
            self.fit()
        return False

    def _wants(self, column: int) -> tuple[int, int]:
        """(the least width: longest word or header, the width its longest line wants)."""
        table = self.table
        metrics = table.fontMetrics()
        header = table.horizontalHeaderItem(column)
        font = QFont(table.horizontalHeader().font())
        font.setBold(True)  # the theme's header (resources/style.qss)
        title = header.text() if header is not None else ""
        least = QFontMetrics(font).horizontalAdvance(title) + 2 * CELL_MARGIN + 12
        wants = least
        for row in range(table.rowCount()):
            item = table.item(row, column)
            if item is None or not item.text():
                continue
            for line in item.text().split("\n"):
                wants = max(wants, metrics.horizontalAdvance(line) + 2 * CELL_MARGIN + 2)
                for word in line.split():
                    least = max(least, metrics.horizontalAdvance(word) + 2 * CELL_MARGIN + 2)
        return least, max(least, wants)

    def fit(self) -> None:
        table = self.table
        room = table.viewport().width()
        self._width = room
        count = table.columnCount()
        if room <= 0 or count == 0:
            return
        wants = [self._wants(c) for c in range(count)]
        least = [w[0] for w in wants]
        full = [w[1] for w in wants]
        if sum(full) <= room:
            widths = full
            widths[-1] += room - sum(full)
        else:
            spare = max(0, room - sum(least))
            flex = [f - m for f, m in zip(full, least, strict=True)]
            total = sum(flex) or 1
            widths = [m + spare * x // total for m, x in zip(least, flex, strict=True)]
            widths[-1] += max(0, room - sum(widths))
        for column, width in enumerate(widths):
            table.setColumnWidth(column, width)
        self._fit_rows(widths)

    def _fit_rows(self, widths: list[int]) -> None:
        """Each row as high as its tallest wrapped cell. (Qt's own row sizing leaves out the
        theme's cell padding, so a cell wrapping to one more line would be cut.)"""
        table = self.table
        metrics = table.fontMetrics()
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
        for row in range(table.rowCount()):
            height = self.MIN_ROW
            for column, width in enumerate(widths):
                item = table.item(row, column)
                if item is None or not item.text():
                    continue
                room = max(1, width - 2 * CELL_MARGIN)
                needed = metrics.boundingRect(QRect(0, 0, room, 100_000), flags, item.text())
                height = max(height, needed.height() + 2 * CELL_MARGIN)
            table.setRowHeight(row, height)


def fit_columns(widget: QTableWidget) -> ColumnFitter:
    """Attaches a :class:`ColumnFitter` to ``widget`` (once) and returns it."""
    fitter = widget.findChild(ColumnFitter)
    if fitter is None:
        fitter = ColumnFitter(widget)
    return fitter


def cell_text(widget: QTableWidget, row: int, column: int) -> str:
    """The text of a cell; "" for a cell without an item (never filled in)."""
    item = widget.item(row, column)
    return "" if item is None else item.text()


def set_cell_text(widget: QTableWidget, row: int, column: int, text: str) -> None:
    """Sets a cell's text, giving the cell an item first if it has none."""
    item = widget.item(row, column)
    if item is None:
        widget.setItem(row, column, QTableWidgetItem(text))
    else:
        item.setText(text)


class ReasonDialog(AdminForm):
    """A reason (required unless ``required=False``) and optional extra fields above it."""

    def __init__(self, title: str, intro: str, action: str, parent: QWidget | None, *,
                 required: bool = True, danger: bool = False, caption: str = "Reason") -> None:
        super().__init__(title, intro, action, parent)
        if danger:
            self.ok.setProperty("kind", "danger")
        self.required = required
        self._extras: list[Callable[[], tuple[str, object]]] = []
        self.reason_caption = caption if required else f"{caption} (optional)"
        self._reason_added = False

    def add_choice(self, key: str, caption: str, choices: Sequence[tuple[str, object]],
                   current: object = None) -> QComboBox:
        combo = QComboBox()
        for text, data in choices:
            combo.addItem(text, data)
        if current is not None:
            combo.setCurrentIndex(max(0, combo.findData(current)))
        self.add(key, caption, combo, span=True)
        self._extras.append(lambda: (key, combo.currentData()))
        return combo

    def add_extra(self, key: str, caption: str, widget: QWidget,
                  read: Callable[[], object]) -> None:
        self.add(key, caption, widget, span=True)
        self._extras.append(lambda: (key, read()))

    def finish(self) -> None:
        """Adds the reason field last. Call after the extras."""
        from PySide6.QtWidgets import QPlainTextEdit

        self.reason = QPlainTextEdit()
        self.reason.setFixedHeight(96)
        self.add("reason", self.reason_caption, self.reason, span=True)
        self._reason_added = True

    def build(self) -> object:
        if not self._reason_added:
            self.finish()
        reason = text_of(self.reason)
        if self.required and not reason:
            raise FieldError("reason", "Required: say why, in a few words.")
        values = dict(extra() for extra in self._extras)
        values["reason"] = reason
        return values

    def open(self) -> None:
        if not self._reason_added:
            self.finish()
        super().open()
