"""Shift boundaries: the one place that says when day, evening and night shifts start and end.

Boundaries are local wall-clock times in the facility's zone. A shift whose end is at or before
its start runs past midnight and ends on the next local day (night: 23:00 → 07:00). To make
them configurable later, pass another ``ShiftDefinition`` tuple to :func:`shift_window`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mar_desktop.errors import ValidationError


@dataclass(frozen=True, slots=True)
class ShiftDefinition:
    name: str  # "day", "evening", "night"
    label: str  # "Day shift"
    start: time  # local wall-clock
    end: time  # local wall-clock; <= start means the next day

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def span_text(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


DEFAULT_SHIFTS: tuple[ShiftDefinition, ...] = (
    ShiftDefinition("day", "Day shift", time(7, 0), time(15, 0)),
    ShiftDefinition("evening", "Evening shift", time(15, 0), time(23, 0)),
    ShiftDefinition("night", "Night shift", time(23, 0), time(7, 0)),
)


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """A concrete shift: its definition, the local date it starts on, and its UTC bounds."""

    shift: ShiftDefinition
    day: date
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive

    def describe(self, zone: ZoneInfo) -> str:
        """E.g. ``Night shift 23:00–07:00, Mon 2026-01-05 → Tue 2026-01-06``."""
        first = self.start.astimezone(zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(zone).date()
        days = f"{first:%a %Y-%m-%d}"
        if last != first:
            days += f" → {last:%a %Y-%m-%d}"
        return f"{self.shift.label} {self.shift.span_text()}, {days}"


def shift_definition(
    name: str, shifts: tuple[ShiftDefinition, ...] = DEFAULT_SHIFTS
) -> ShiftDefinition:
    """The shift called ``name``. Raises :class:`ValidationError` for an unknown name."""
    for shift in shifts:
        if shift.name == name:
            return shift
    known = ", ".join(s.name for s in shifts)
    raise ValidationError(f"Unknown shift {name!r}; choose one of: {known}.")


def _local(zone: ZoneInfo, day: date, moment: time) -> datetime:
    # fold=0: a non-existent local time maps forward, an ambiguous one to its first occurrence.
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def shift_window(
    day: date, name: str, zone: ZoneInfo, shifts: tuple[ShiftDefinition, ...] = DEFAULT_SHIFTS
) -> ShiftWindow:
    """The UTC window ``[start, end)`` of shift ``name`` starting on local ``day``."""
    shift = shift_definition(name, shifts)
    end_day = day + timedelta(days=1) if shift.crosses_midnight else day
    return ShiftWindow(shift, day, _local(zone, day, shift.start), _local(zone, end_day, shift.end))


def shift_at(
    moment: datetime, zone: ZoneInfo, shifts: tuple[ShiftDefinition, ...] = DEFAULT_SHIFTS
) -> ShiftWindow:
    """The shift whose window ``[start, end)`` holds ``moment`` (aware). A night shift that
    began yesterday holds the early hours of today. Raises :class:`ValidationError` if no
    shift does (the definitions leave a gap)."""
    local_day = moment.astimezone(zone).date()
    for day in (local_day - timedelta(days=1), local_day):
        for shift in shifts:
            window = shift_window(day, shift.name, zone, shifts)
            if window.start <= moment < window.end:
                return window
    raise ValidationError("No shift covers this time; check the facility's shift times.")


def month_window(year: int, month: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` of a local calendar month. Raises ValidationError for a bad month."""
    if not 1 <= month <= 12 or not 1900 <= year <= 9998:
        raise ValidationError("Month must be given as YYYY-MM.")
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return _local(zone, first, time(0, 0)), _local(zone, following, time(0, 0))


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-01"`` → ``(2026, 1)``. Raises :class:`ValidationError` otherwise."""
    try:
        year_text, month_text = text.strip().split("-")
        year, month = int(year_text), int(month_text)
    except ValueError:
        raise ValidationError("Month must be given as YYYY-MM.") from None
    if len(year_text) != 4 or not 1 <= month <= 12:
        raise ValidationError("Month must be given as YYYY-MM.")
    return year, month
