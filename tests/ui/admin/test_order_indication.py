"""The order form's PRN indication range: typed as two pain scores, kept when the order is
changed (a change must never drop it silently), refused at the field when half given."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtWidgets import QApplication

from mar_desktop.model import PrnIndication, Schedule
from tests.mar_desktop.clinical.factories import order, resident
from ui.admin.forms import FieldError
from ui.admin.order_dialog import OrderDialog

NOW = datetime(2026, 3, 2, 14, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")


def test_a_prn_order_gets_its_indication_range_and_a_change_keeps_it(qapp: QApplication) -> None:
    prn = order(Schedule(kind="prn"), drug="Oxycodone", prn_indication=PrnIndication(
        minimum=7, maximum=10))
    changing = OrderDialog(resident(), ZONE, NOW, None, replacing=prn)
    assert (changing.indication_min.text(), changing.indication_max.text()) == ("7", "10")
    assert changing.order().prn_indication == PrnIndication(minimum=7, maximum=10)
    changing.indication_max.setText("")
    with pytest.raises(FieldError) as refused:
        changing.order()
    assert refused.value.key == "indication" and "both ends" in refused.value.message
    changing.indication_min.setText("")
    assert changing.order().prn_indication is None  # cleared on purpose
    scheduled = OrderDialog(resident(), ZONE, NOW, None, replacing=order())
    scheduled.indication_min.setText("7")  # hidden for a scheduled order, and not used
    scheduled.indication_max.setText("10")
    assert scheduled.order().prn_indication is None
    changing.deleteLater()
    scheduled.deleteLater()
