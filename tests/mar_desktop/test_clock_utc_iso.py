"""utc_iso: the one time format of the ledger, whatever zone a time arrives in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mar_desktop.clock import utc_iso

NEW_YORK = ZoneInfo("America/New_York")
PLUS_ONE = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 1, 8, 0, tzinfo=UTC), "2026-01-01T08:00:00.000000Z"),
        (datetime(2026, 1, 1, 8, 0, 0, 5, tzinfo=UTC), "2026-01-01T08:00:00.000005Z"),
        (datetime(2026, 1, 1, 0, 30, tzinfo=PLUS_ONE), "2025-12-31T23:30:00.000000Z"),
        # the morning of a spring-forward day in New York: 01:30 EST, then 03:30 EDT
        (datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK), "2026-03-08T06:30:00.000000Z"),
        (datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK), "2026-03-08T07:30:00.000000Z"),
    ],
)
def test_every_zone_is_written_as_utc_with_microseconds(moment: datetime, text: str) -> None:
    assert utc_iso(moment) == text


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        utc_iso(datetime(2026, 1, 1, 8, 0))
