"""What a change touched: a small set the screens refresh from, whether the change was made on
this tablet (a service call's entries) or pulled from another one (a sync).

:func:`changes_of` reads entries' kinds and JSON bodies; it never fails on a body it does not
understand: an unknown kind, or an entry whose resident is not named in its body (a void, an
amendment, a follow-up, an order's hold), counts as touching every resident, so a screen
refreshes too often rather than showing a stale MAR. Pure functions; any thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mar_desktop import kinds

_SETTINGS = frozenset({kinds.FACILITY_CONFIGURED, kinds.SETTINGS_CHANGED, kinds.UNIT_CREATED})
_PEOPLE = frozenset({kinds.USER_CREATED, kinds.USER_CHANGED})
_ALERTS = frozenset({kinds.ALERT_RAISED, kinds.ALERT_ACKNOWLEDGED})
_UNNAMED_RESIDENT = frozenset(
    {
        kinds.NOTE_AMENDED,
        kinds.ENTRY_VOIDED,
        kinds.PRN_FOLLOWUP_RECORDED,
        kinds.ORDER_HELD,
        kinds.ORDER_RESUMED,
        kinds.ORDER_DISCONTINUED,
    }
)
_NOTHING_SHOWN = frozenset({kinds.DEVICE_ENROLLED})


@dataclass(frozen=True, slots=True)
class Changes:
    """Which residents (their MAR, orders, record), alerts, facility settings or units, and
    staff accounts changed. ``all_residents``: any resident may have changed."""

    residents: frozenset[str] = frozenset()
    all_residents: bool = False
    alerts: bool = False
    settings: bool = False
    people: bool = False

    @classmethod
    def everything(cls) -> Changes:
        """For a change too large to itemise (a new tablet's first pull)."""
        return cls(all_residents=True, alerts=True, settings=True, people=True)

    def __bool__(self) -> bool:
        return bool(
            self.residents or self.all_residents or self.alerts or self.settings or self.people
        )

    def __or__(self, other: Changes) -> Changes:
        return Changes(
            residents=self.residents | other.residents,
            all_residents=self.all_residents or other.all_residents,
            alerts=self.alerts or other.alerts,
            settings=self.settings or other.settings,
            people=self.people or other.people,
        )

    def touches(self, resident_id: str) -> bool:
        """True if the resident's MAR or record may have changed."""
        return self.all_residents or resident_id in self.residents

    @property
    def any_resident(self) -> bool:
        """True if some resident's MAR or record may have changed (unit overview, pass list)."""
        return self.all_residents or bool(self.residents)


NO_CHANGES = Changes()


def changes_of(entries: Iterable[tuple[str, Mapping[str, Any]]]) -> Changes:
    """The changes made by ledger entries given as (kind, body as JSON); audit entries change
    nothing a screen shows."""
    residents: set[str] = set()
    all_residents = alerts = settings = people = False
    for kind, body in entries:
        if kind.startswith(kinds.AUDIT_KIND_PREFIX) or kind in _NOTHING_SHOWN:
            continue
        if kind in _SETTINGS:
            settings = True
        elif kind in _PEOPLE:
            people = True
        elif kind in _UNNAMED_RESIDENT:
            all_residents = True
        elif kind in _ALERTS:
            alerts = True
            named = body.get("resident_id")
            if isinstance(named, str):
                residents.add(named)
        else:
            named = _resident_named(kind, body)
            if named is None:  # unknown kind or body: the most a change could touch
                all_residents = alerts = settings = people = True
            else:
                residents.add(named)
    return Changes(frozenset(residents), all_residents, alerts, settings, people)


def _resident_named(kind: str, body: Mapping[str, Any]) -> str | None:
    if kind in (kinds.RESIDENT_ADMITTED, kinds.RESIDENT_UPDATED):
        found = _field(body, "resident", "resident_id")
    elif kind in (kinds.ORDER_CREATED, kinds.ORDER_CHANGED):
        found = _field(body, "order", "resident_id")
    elif kind in (
        kinds.RESIDENT_TRANSFERRED,
        kinds.RESIDENT_DISCHARGED,
        kinds.ADMINISTRATION_RECORDED,
    ):
        found = body.get("resident_id")
    else:
        return None
    return found if isinstance(found, str) else None


def _field(body: Mapping[str, Any], outer: str, inner: str) -> object:
    part = body.get(outer)
    return part.get(inner) if isinstance(part, Mapping) else None
