"""The order form offers routes in words, as every other screen shows them, and an order written
with a code ("PO") opens showing its words."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QApplication

from mar_desktop.clinical.routes import Route
from tests.mar_desktop.clinical.factories import order, resident
from ui.admin.order_dialog import OrderDialog


def test_the_route_list_is_words_and_a_coded_route_opens_as_words(qapp: QApplication) -> None:
    now = datetime(2026, 3, 2, 14, tzinfo=UTC)
    new = OrderDialog(resident(), ZoneInfo("America/New_York"), now, None)
    offered = [new.route.itemText(i) for i in range(new.route.count())]
    assert offered == [route.value for route in Route]
    assert "PO" not in offered and new.route.currentText() == "oral"
    changing = OrderDialog(resident(), ZoneInfo("America/New_York"), now, None,
                           replacing=order().model_copy(update={"route": "SC"}))
    assert changing.route.currentText() == "subcutaneous"
    new.deleteLater()
    changing.deleteLater()
