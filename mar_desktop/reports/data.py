"""The data objects reports are rendered from, and what a render reports back.

Built by :mod:`mar_desktop.reports.gather` from the read model (or by hand in tests). They hold
PHI: never log them. Renderers are pure functions of these objects plus the clock reading kept
in ``printed_at`` — the same data renders the same PDF text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mar_desktop.model import Facility, Resident, Unit, User
from mar_desktop.reports.shifts import ShiftWindow
from mar_desktop.views import AdministrationRecord, OrderState, OverrideView, ScheduledDose

Progress = Callable[[float, str], None]
"""``progress(fraction 0..1, text)``; called on the rendering (worker) thread. A GUI must hand
the call over to its own thread (e.g. a queued signal); the text never contains PHI."""


def no_progress(fraction: float, text: str) -> None:
    """The default progress callback: does nothing."""


@dataclass(frozen=True, slots=True)
class ResidentMar:
    """One resident's part of a MAR for a window.

    ``orders``: scheduled and PRN orders active at some time in the window (held ones included);
    ``doses``: every scheduled dose in the window with its status (clinical ``dose_statuses``);
    ``records``: every administration record of the window, voided ones included, sorted by
    administered time."""

    resident: Resident
    orders: tuple[OrderState, ...]
    doses: tuple[ScheduledDose, ...]
    records: tuple[AdministrationRecord, ...]


@dataclass(frozen=True, slots=True)
class ShiftSheetData:
    facility: Facility
    unit: Unit
    window: ShiftWindow
    printed_by: User
    printed_at: datetime  # aware UTC
    residents: tuple[ResidentMar, ...]
    users: Mapping[str, User]  # everyone who may appear as a signer (inactive users included)
    overrides: Mapping[str, tuple[OverrideView, ...]] = field(default_factory=dict)
    """The warnings accepted for the records of the sheet that have any, by entry id."""


@dataclass(frozen=True, slots=True)
class MonthlyMarData:
    facility: Facility
    year: int
    month: int
    window_start: datetime  # aware UTC: local midnight of the 1st
    window_end: datetime  # aware UTC: local midnight of the 1st of the next month
    printed_by: User
    printed_at: datetime
    residents: tuple[ResidentMar, ...]
    users: Mapping[str, User]
    unit: Unit | None = None  # None: residents of several units (or one resident)


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """What a render produced.

    ``layout`` maps each resident id to the (first, last) page its block was drawn on; a block
    that did not fit one page is listed in ``oversized`` (it then continues on the following
    page under a "continued" banner)."""

    pages: int
    layout: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    oversized: tuple[str, ...] = ()
