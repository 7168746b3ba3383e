"""The unit choice of the bedside lists (overview, med pass): "All my units" (or "My unit" when
there is one) and each unit in the user's scope. Changing it emits ``unit_changed``; refilling
it with the same units keeps the choice and emits nothing. GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from mar_desktop.model import Unit

ALL = "__all__"


class UnitFilter(QComboBox):
    unit_changed = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setMinimumWidth(260)
        self.currentIndexChanged.connect(lambda _index: self.unit_changed.emit())

    def selected_unit(self) -> str | None:
        """The chosen unit's id, or None for all the user's units."""
        data = self.currentData()
        return None if data in (None, ALL) else str(data)

    def set_units(self, units: list[Unit]) -> None:
        """Offers ``units`` (the user's scope), keeping the current choice when still offered."""
        current = self.currentData()
        wanted = [(ALL, "All my units" if len(units) > 1 else "My unit")] + [
            (u.unit_id, u.name) for u in units
        ]
        have = [(self.itemData(i), self.itemText(i)) for i in range(self.count())]
        if have == wanted:
            return
        self.blockSignals(True)
        self.clear()
        for data, text in wanted:
            self.addItem(text, data)
        self.setCurrentIndex(max(self.findData(current), 0))
        self.blockSignals(False)

    def unit_names(self) -> list[str]:
        return [self.itemText(i) for i in range(self.count())]
