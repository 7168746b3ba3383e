"""Table cells the admin screens read and write: a cell never filled in has no item."""

from __future__ import annotations

from PySide6.QtWidgets import QTableWidget

from ui.admin.base import cell_text, set_cell_text


def test_cell_without_an_item_reads_empty_and_gets_one_when_written(qtbot) -> None:
    table = QTableWidget(2, 2)
    qtbot.addWidget(table)
    assert table.item(1, 1) is None
    assert cell_text(table, 1, 1) == ""
    set_cell_text(table, 1, 1, "Room 12")
    assert table.item(1, 1) is not None
    assert cell_text(table, 1, 1) == "Room 12"
    item = table.item(1, 1)
    set_cell_text(table, 1, 1, "Room 14")
    assert table.item(1, 1) is item  # rewritten in place, not replaced
    assert cell_text(table, 1, 1) == "Room 14"
    assert cell_text(table, 0, 1) == ""  # the other cells stay without items
