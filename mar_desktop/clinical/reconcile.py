"""Clinical reconciliation across devices (docs/architecture.md#clinical-reconciliation): pure rules
that turn merged facts into alerts. No I/O, any thread. The server runs them as entries arrive,
because only it sees every device; each alert becomes an ``alert.raised`` entry. Nothing is merged
away or deleted: both records stay, and the alert names them.

Rules (all about doses that COUNT: outcome GIVEN and not voided):

- ``double_dose``: two doses of the same order for the same ``scheduled_for`` recorded on
  different devices (the same device cannot record both: its own rules refuse it).
- ``discontinued_order_dose``: a dose whose ``administered_at`` is at or after the order's
  discontinuation ``effective_at`` (the recording device had not heard of it: it was offline).
  Checked both ways: when the dose arrives after the discontinuation and vice versa.
- ``changed_order_dose``: the same for an order replaced by a change of dose, route, schedule
  or hold parameters (``order.changed`` ends the old order at its ``effective_at``): the dose
  followed the old version.
- ``held_order_dose``: a dose whose ``administered_at`` lies in a hold of the order
  (``order.held`` until the next ``order.resumed``, or still open). Checked both ways too.
- ``prn_interval`` / ``prn_daily_max``: a PRN dose that breaks the minimum interval or the
  24-hour maximum counted with doses from OTHER devices (the limits are
  :func:`mar_desktop.clinical.rules.check_prn_limits`, not repeated here).
- ``prn_daily_max`` also: a dose that takes an ingredient over an order's 24-hour AMOUNT
  maximum counted with the resident's doses of every order of that ingredient from other
  devices (:func:`amount_max`; the detail names the total and the maximum).
- ``urgent_unverified_dose``: an urgent dose given on an order awaiting verification (with
  its reason and a second person's sign-in): always raised, so it is seen on every tablet.
- ``returned_order_dose``: a counted dose of an order that was returned at verification,
  whichever arrives first.
- ``unverified_order_dose``: a counted dose of an order awaiting verification with no urgent
  flag (a tablet that does not know about verification gave it).
- ``clock_skew``: an entry's ``recorded_at`` lies more than
  ``FacilitySettings.clock_skew_alert_seconds`` after the server's receive time (a device
  clock running ahead); or, at a sync, the device's clock (sent with the request) differs from
  the server's by more than that, either way (:func:`device_clock_skew`). A clock running
  behind cannot be told from its entries alone (an entry recorded offline and sent later looks
  the same), so it is judged from the clocks compared at sync.

:func:`alert_key` identifies an alert by type and the entries it names, so a rule re-run over
the same facts (a server restart, a re-sent batch) never raises the same alert twice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from mar_desktop.clinical.daily_max import check_amount_max
from mar_desktop.clinical.rules import check_prn_limits
from mar_desktop.envelope import new_id
from mar_desktop.errors import RuleViolation
from mar_desktop.kinds import AlertRaised, alert_version
from mar_desktop.model import Order, Outcome
from mar_desktop.views import AdministrationRecord

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DoseFact:
    """What reconciliation needs of one ``administration.recorded`` entry."""

    entry_id: str
    device_id: str
    resident_id: str
    order_id: str
    scheduled_for: datetime | None
    administered_at: datetime
    recorded_at: datetime
    outcome: Outcome
    dose_given: Decimal | None = None
    """The amount recorded (the order's unit); None: the order's dose."""

    @property
    def given(self) -> bool:
        return self.outcome == Outcome.GIVEN


def alert_key(alert_type: str, related: Iterable[str]) -> tuple[str, frozenset[str]]:
    return alert_type, frozenset(related)


def _alert(
    alert_type: str,
    *,
    related: Iterable[str],
    detail: str,
    resident_id: str | None = None,
    order_id: str | None = None,
    device_id: str | None = None,
) -> AlertRaised:
    return AlertRaised(
        v=alert_version(alert_type),
        alert_id=new_id(),
        alert_type=alert_type,
        resident_id=resident_id,
        order_id=order_id,
        related_entry_ids=tuple(sorted(related)),
        device_id=device_id,
        detail=detail,
    )


def _counts(dose: DoseFact, voided: Collection[str]) -> bool:
    return dose.given and dose.entry_id not in voided


def double_dose(
    new: DoseFact, same_slot: Iterable[DoseFact], voided: Collection[str]
) -> AlertRaised | None:
    """``new`` against the doses already held for its order and ``scheduled_for``."""
    if new.scheduled_for is None or not _counts(new, voided):
        return None
    clashes = [
        d.entry_id
        for d in same_slot
        if d.entry_id != new.entry_id
        and d.order_id == new.order_id
        and d.scheduled_for == new.scheduled_for
        and d.device_id != new.device_id
        and _counts(d, voided)
    ]
    if not clashes:
        return None
    return _alert(
        "double_dose",
        related=[*clashes, new.entry_id],
        detail=(
            f"The same scheduled dose was recorded as given on {len(clashes) + 1} devices; "
            "both records are kept. Check the resident and review the records."
        ),
        resident_id=new.resident_id,
        order_id=new.order_id,
        device_id=new.device_id,
    )


def discontinued_dose(
    dose: DoseFact,
    discontinued_at: datetime | None,
    discontinue_entry_id: str,
    voided: Collection[str],
    *,
    changed: bool = False,
) -> AlertRaised | None:
    """A counted dose given at or after the order's discontinuation; ``changed``: the order
    was ended by a change (``order.changed`` naming it as replaced), not discontinued."""
    if discontinued_at is None or not _counts(dose, voided):
        return None
    if dose.administered_at < discontinued_at:
        return None
    if changed:
        return _alert(
            "changed_order_dose",
            related=[dose.entry_id, discontinue_entry_id],
            detail=(
                "A dose was recorded as given by an order's previous version after the order "
                "was changed (the device did not know yet). Check the dose given against the "
                "new order and review the resident."
            ),
            resident_id=dose.resident_id,
            order_id=dose.order_id,
            device_id=dose.device_id,
        )
    return _alert(
        "discontinued_order_dose",
        related=[dose.entry_id, discontinue_entry_id],
        detail=(
            "A dose was recorded as given after its order was discontinued (the device did not "
            "know yet). Review the resident and the record."
        ),
        resident_id=dose.resident_id,
        order_id=dose.order_id,
        device_id=dose.device_id,
    )


@dataclass(frozen=True, slots=True)
class HoldFact:
    """One hold of an order: from ``start`` until ``end`` (None: not resumed yet)."""

    entry_id: str
    start: datetime
    end: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


def held_dose(
    dose: DoseFact, holds: Iterable[HoldFact], voided: Collection[str]
) -> AlertRaised | None:
    """A counted dose given while the order was held (the recording device did not know of
    the hold). Names the dose and the hold's ``order.held`` entry."""
    if not _counts(dose, voided):
        return None
    hold = next((h for h in holds if h.covers(dose.administered_at)), None)
    if hold is None:
        return None
    return _alert(
        "held_order_dose",
        related=[dose.entry_id, hold.entry_id],
        detail=(
            "A dose was recorded as given while its order was on hold (the device did not know "
            "yet). Review the resident and the record."
        ),
        resident_id=dose.resident_id,
        order_id=dose.order_id,
        device_id=dose.device_id,
    )


def _record(dose: DoseFact, voided: Collection[str]) -> AdministrationRecord:
    return AdministrationRecord(
        entry_id=dose.entry_id,
        resident_id=dose.resident_id,
        order_id=dose.order_id,
        scheduled_for=dose.scheduled_for,
        administered_at=dose.administered_at,
        recorded_at=dose.recorded_at,
        outcome=dose.outcome,
        actor_user_id="",
        actor_role="",
        device_id=dose.device_id,
        voided=dose.entry_id in voided,
        dose_given=dose.dose_given,
    )


def prn_limits(
    order: Order, new: DoseFact, others: Iterable[DoseFact], voided: Collection[str]
) -> AlertRaised | None:
    """PRN interval / 24-hour maximum broken by ``new`` together with other devices' doses.

    The alert names ``new`` and every counted dose of the order less than 24 h from it, before
    or after, on any device."""
    if not order.is_prn or not _counts(new, voided):
        return None
    earlier = [d for d in others if d.entry_id != new.entry_id and d.order_id == order.order_id]
    if not any(d.device_id != new.device_id and _counts(d, voided) for d in earlier):
        return None
    try:
        check_prn_limits(order, [_record(d, voided) for d in earlier], new.administered_at)
    except RuleViolation as violation:
        if violation.code not in ("prn_interval", "prn_daily_max"):
            raise
        near = [
            d.entry_id
            for d in earlier
            if _counts(d, voided) and abs(d.administered_at - new.administered_at) < _DAY
        ]
        what = "minimum interval" if violation.code == "prn_interval" else "24-hour maximum"
        return _alert(
            violation.code,
            related=[*near, new.entry_id],
            detail=(
                f"PRN doses recorded on different devices break the order's {what}. "
                "Check the resident and review the records."
            ),
            resident_id=new.resident_id,
            order_id=order.order_id,
            device_id=new.device_id,
        )
    return None


def amount_max(
    order: Order,
    new: DoseFact,
    others: Iterable[DoseFact],
    orders: Mapping[str, Order],
    limits_from: Iterable[Order],
    voided: Collection[str],
) -> AlertRaised | None:
    """A dose that takes an ingredient over its 24-hour amount maximum counted with the
    resident's doses of every order of it from OTHER devices (the rule is
    :func:`mar_desktop.clinical.daily_max.check_amount_max`, not repeated here). Raised as
    ``prn_daily_max`` (a type every tablet knows) naming ``new`` and every counted dose of the
    resident less than 24 h from it; the detail names the total and the maximum."""
    if not _counts(new, voided):
        return None
    earlier = [d for d in others if d.entry_id != new.entry_id]
    if not any(d.device_id != new.device_id and _counts(d, voided) for d in earlier):
        return None
    amount = new.dose_given if new.dose_given is not None else order.dose
    try:
        check_amount_max(
            order,
            amount,
            new.administered_at,
            orders,
            [_record(d, voided) for d in earlier],
            limits_from=limits_from,
        )
    except RuleViolation as violation:
        if violation.code not in ("prn_amount_max", "amount_max_unknown"):
            raise
        near = [
            d.entry_id
            for d in earlier
            if _counts(d, voided) and abs(d.administered_at - new.administered_at) < _DAY
        ]
        return _alert(
            "prn_daily_max",
            related=[*near, new.entry_id],
            detail=(
                "Doses recorded on different devices: "
                + str(violation).split(". ")[0].replace("This dose would make", "they make")
                + ". Check the resident and review the records."
            ),
            resident_id=new.resident_id,
            order_id=order.order_id,
            device_id=new.device_id,
        )
    return None


def clock_words(offset_seconds: float) -> str:
    """An offset in words: "about 2 h 5 min behind", "about 7 min ahead"."""
    minutes = int(abs(offset_seconds) // 60)
    hours, rest = divmod(minutes, 60)
    size = f"{hours} h {rest} min" if hours else f"{minutes} min"
    return f"about {size} {'ahead of' if offset_seconds > 0 else 'behind'}"


def device_clock_skew(
    device_id: str,
    device_time: datetime,
    server_time: datetime,
    threshold_seconds: int,
    head_entry_id: str | None = None,
) -> AlertRaised | None:
    """A device whose clock, compared with the server's at a sync, is more than
    ``threshold_seconds`` off either way. Names the device's newest entry when there is one."""
    offset = (device_time - server_time).total_seconds()
    if abs(offset) <= threshold_seconds:
        return None
    return _alert(
        "clock_skew",
        related=[head_entry_id] if head_entry_id else [],
        detail=(
            f"This device's clock runs {clock_words(offset)} the server's; the times of doses "
            "it records while so are wrong by as much. Set the device clock."
        ),
        device_id=device_id,
    )


def clock_skew(
    device_id: str,
    entry_id: str,
    recorded_at: datetime,
    received_at: datetime,
    threshold_seconds: int,
) -> AlertRaised | None:
    """An entry recorded more than ``threshold_seconds`` after the server received it."""
    ahead = (recorded_at - received_at).total_seconds()
    if ahead <= threshold_seconds:
        return None
    return _alert(
        "clock_skew",
        related=[entry_id],
        detail=(
            f"This device's clock runs about {int(ahead // 60)} minute(s) ahead of the server; "
            "times it records may be wrong. Set the device clock."
        ),
        device_id=device_id,
    )


def urgent_dose(
    urgent_entry_id: str, dose_entry_id: str, resident_id: str, order_id: str, device_id: str
) -> AlertRaised:
    """An urgent dose on an order awaiting verification: raised for every one."""
    return _alert(
        "urgent_unverified_dose",
        related=[urgent_entry_id, dose_entry_id],
        detail=(
            "An urgent dose was given on an order awaiting verification (reason and second "
            "person on the record). Verify the order or return it."
        ),
        resident_id=resident_id,
        order_id=order_id,
        device_id=device_id,
    )


def returned_dose(
    dose: DoseFact, return_entry_id: str, voided: Collection[str]
) -> AlertRaised | None:
    """A counted dose of an order returned at verification (given before or after)."""
    if not _counts(dose, voided):
        return None
    return _alert(
        "returned_order_dose",
        related=[dose.entry_id, return_entry_id],
        detail=(
            "A dose was given on an order that was returned at verification (found wrong). "
            "Check the resident and review the order and the record."
        ),
        resident_id=dose.resident_id,
        order_id=dose.order_id,
        device_id=dose.device_id,
    )


def unverified_dose(
    dose: DoseFact, order_entry_id: str, voided: Collection[str]
) -> AlertRaised | None:
    """A counted dose of an order awaiting verification, not flagged as an urgent dose."""
    if not _counts(dose, voided):
        return None
    return _alert(
        "unverified_order_dose",
        related=[dose.entry_id, order_entry_id],
        detail=(
            "A dose was given on an order awaiting verification without an urgent-dose reason "
            "(a tablet that does not check verification?). Verify the order and review the record."
        ),
        resident_id=dose.resident_id,
        order_id=dose.order_id,
        device_id=dose.device_id,
    )
