"""A row of one-tap choices (a PRN reason, a pain score): touch-sized toggle buttons of which
at most one is chosen, shown with a radio mark ("● chosen", "○ not") as well as colour, and
none chosen until the person taps one. GUI thread only."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractButton, QButtonGroup, QGridLayout, QPushButton, QWidget

from ui.widgets.common import button

CHOSEN, NOT_CHOSEN = "●", "○"


def mark(choice: QAbstractButton, words: str) -> None:
    """Shows ``words`` with the radio mark of ``choice``'s state."""
    choice.setText(f"{CHOSEN if choice.isChecked() else NOT_CHOSEN} {words}")


class ChoiceRow(QWidget):
    """``choices`` as (value, words) in a grid of ``columns`` columns. ``value()`` is the
    chosen value, None before a tap; a second tap on the chosen one takes it back.
    ``chosen(object)`` is emitted on every tap with the new value (None: none)."""

    chosen = Signal(object)

    def __init__(self, choices: Sequence[tuple[object, str]], columns: int, name: str,
                 parent: QWidget | None = None, *, compact: bool = False) -> None:
        """``compact``: narrow buttons for short words (a score), so many fit in a row."""
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(6)
        self._group = QButtonGroup(self)
        self._group.setExclusive(False)  # exclusive by hand: a second tap may undo a choice
        self._buttons: list[tuple[QPushButton, object, str]] = []
        for index, (value, words) in enumerate(choices):
            choice = button("", "choice", checkable=True, name=f"{name}_{index}")
            choice.setMinimumWidth(52 if compact else 96)
            if compact:
                choice.setProperty("compact", True)
            choice.setAccessibleName(words)
            mark(choice, words)
            choice.toggled.connect(lambda _on, c=choice, w=words: mark(c, w))
            self._group.addButton(choice)
            self._buttons.append((choice, value, words))
        self._group.buttonClicked.connect(self._tapped)
        self._columns = 0
        self.set_columns(columns)

    def set_columns(self, columns: int) -> None:
        """Lays the choices out in ``columns`` columns (fewer on a narrow screen)."""
        columns = max(1, columns)
        if columns == self._columns:
            return
        self._columns = columns
        for index, (choice, _, _) in enumerate(self._buttons):
            self._grid.removeWidget(choice)
            self._grid.addWidget(choice, index // columns, index % columns)

    def buttons(self) -> list[QPushButton]:
        return [choice for choice, _, _ in self._buttons]

    def value(self) -> object:
        return next((value for choice, value, _ in self._buttons if choice.isChecked()), None)

    def words(self) -> str:
        """The words of the chosen value, "" for none."""
        return next((words for choice, _, words in self._buttons if choice.isChecked()), "")

    def set_value(self, value: object) -> None:
        """Chooses ``value`` (None or a value not listed: none), without the signal."""
        for choice, own, _ in self._buttons:
            choice.setChecked(value is not None and own == value)

    def _tapped(self, tapped: QAbstractButton) -> None:
        for choice, _, _ in self._buttons:
            if choice is not tapped:
                choice.setChecked(False)
        self.chosen.emit(self.value())
