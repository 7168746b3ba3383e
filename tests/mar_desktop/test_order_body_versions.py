"""Order bodies carry the lowest version that can represent the order: plain orders stay
exactly as before (v2, no new keys); a range, sliding scale or daily amount maximum makes v3,
which an older tablet (knowing v2) keeps as "recorded by a newer version"."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import pytest

from mar_desktop import kinds
from mar_desktop.errors import ValidationError
from mar_desktop.model import Order, SlidingScaleRow
from tests.mar_desktop.clinical import factories as f

PLAIN = f.order()
RANGED = Order.model_validate({**PLAIN.model_dump(), "dose_max": Decimal(50)})
SCALED = Order.model_validate({**PLAIN.model_dump(), "sliding_scale": (
    SlidingScaleRow(glucose_min=Decimal(150), glucose_max=Decimal(200), dose=Decimal(2)),)})
LIMITED = Order.model_validate({**PLAIN.model_dump(), "max_amount_24h": Decimal(3),
                                "max_amount_unit": "g"})
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_plain_order_is_v2_and_serialises_without_the_new_keys() -> None:
    assert kinds.order_body_version(PLAIN) == 2
    body = kinds.body_json(kinds.OrderCreated(order=PLAIN))
    assert body["v"] == 2
    assert not set(body["order"]) & {"dose_max", "sliding_scale", "max_amount_24h",
                                     "max_amount_unit", "ingredient"}
    assert kinds.parse_body(kinds.ORDER_CREATED, body) == kinds.OrderCreated(order=PLAIN)


@pytest.mark.parametrize("order", [RANGED, SCALED, LIMITED])
def test_an_order_using_a_new_field_is_v3_both_created_and_changed(order: Order) -> None:
    assert kinds.order_body_version(order) == 3
    created = kinds.body_json(kinds.OrderCreated(order=order))
    changed = kinds.body_json(kinds.OrderChanged(
        replaces_order_id="ord-0", order=order, reason="dose range", effective_at=WHEN))
    assert created["v"] == changed["v"] == 3
    assert kinds.parse_body(kinds.ORDER_CREATED, created).order == order  # type: ignore[attr-defined]


@pytest.mark.parametrize("order", [RANGED, SCALED, LIMITED])
def test_a_v2_body_holding_a_new_field_is_refused(order: Order) -> None:
    body: dict[str, Any] = {**kinds.body_json(kinds.OrderCreated(order=order)), "v": 2}
    with pytest.raises(ValidationError):
        kinds.parse_body(kinds.ORDER_CREATED, body)


def test_an_older_tablet_sees_v3_as_newer_and_the_partial_kind_as_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = kinds.body_json(kinds.OrderCreated(order=RANGED))
    assert not kinds.from_newer_version(kinds.ORDER_CREATED, body)

    class OlderOrderCreated(kinds.OrderCreated):
        v: Literal[1, 2] = 2  # type: ignore[assignment]

    monkeypatch.setitem(kinds.BODY_TYPES, kinds.ORDER_CREATED, OlderOrderCreated)
    monkeypatch.delitem(kinds.BODY_TYPES, kinds.PARTIAL_DOSE_RECORDED)
    assert kinds.known_version(kinds.ORDER_CREATED) == 2
    assert kinds.from_newer_version(kinds.ORDER_CREATED, body)
    plain = kinds.body_json(kinds.OrderCreated(order=PLAIN))
    assert not kinds.from_newer_version(kinds.ORDER_CREATED, plain)
    assert kinds.from_newer_version(kinds.PARTIAL_DOSE_RECORDED, {"v": 1})


def test_a_partial_dose_is_less_than_the_dose_prepared() -> None:
    fields: dict[str, Any] = dict(administration_entry_id="e-1", resident_id="res-1",
                                  order_id="ord-1", intended=Decimal(650), unit="mg",
                                  reason="spat out")
    kinds.PartialDoseRecorded(taken=Decimal(325), **fields)
    for taken in (Decimal(650), Decimal(651)):
        with pytest.raises(ValueError):
            kinds.PartialDoseRecorded(taken=taken, **fields)
