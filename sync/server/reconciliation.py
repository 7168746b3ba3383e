"""Clinical reconciliation on the server: after each push, new entries are checked against
everything the facility holds (:mod:`mar_desktop.clinical.reconcile`) and each finding is
recorded as an ``alert.raised`` entry of the server device (so ``mar-server alerts`` shows it
and every tablet pulls it with the feed). Entries are never changed or removed.

How: one in-memory :class:`_Index` per facility (orders, PRN doses, doses per scheduled slot,
voids, discontinuations and changes, holds, settings, alerts already raised) is built from the
facility's ledger feed on first use and then moved forward along the feed after every push
(``catch_up``). Because
it reads the feed, it sees entries from any device in feed order, survives a restart (it is
rebuilt; :func:`~mar_desktop.clinical.reconcile.alert_key` of the alerts already in the feed
keeps a re-run from raising an alert twice). Clock skew is judged only for entries arriving
live (their receive time is known), once per device.

Several server processes on one database each keep such an index (a cache derived from the
shared feed: every process reads every entry). An alert is raised once however many processes
find it: under the facility's write lock, each alert first claims its row in ``alert_keys``
(unique by facility, kind and subject: :func:`alert_subject`) and only claimed alerts are
appended, in the same transaction.

Threads: the push endpoint runs :meth:`Reconciler.catch_up_waiting` after sending the receipt,
and reads wait for it (:mod:`.reconcile_live`); :meth:`Reconciler.after_push` is the
non-waiting form. One lock per facility; ``after_push`` never waits for it: a caller that finds
another thread catching up marks the index dirty and returns, and that thread goes round again
before letting go, so every entry is still checked. The first use of a facility's index after
the server starts reads the WHOLE feed — a year of a large facility takes tens of seconds — so
it runs on a background thread (``mar-reconcile``) instead of holding up the push that
triggered it. A failure here is logged and never fails the push (the entries are stored
already; the next push retries the catch-up from the same feed position).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mar_desktop import kinds
from mar_desktop.clinical import reconcile
from mar_desktop.clock import parse_utc, utc_iso
from mar_desktop.envelope import SYSTEM_ACTOR, Entry, EntryDraft, parse_raw
from mar_desktop.errors import MarError
from mar_desktop.model import FacilitySettings, Order
from sync.server.checker import DoseBody
from sync.server.core import ServerCore
from sync.server.store import FeedHead, StoredEntry

log = logging.getLogger(__name__)
_PAGE = 1000
_Row = FeedHead | StoredEntry
"""A feed row as the catch-up reads it: with or without the entry's bytes."""
_CHECKED_MAX = 20_000


@dataclass
class _Index:
    pos: int = 0
    settings: FacilitySettings = field(default_factory=FacilitySettings)
    orders: dict[str, Order] = field(default_factory=dict)
    discontinued: dict[str, tuple[datetime, str, bool]] = field(default_factory=dict)
    """order id -> (effective at, the ending entry's id, ended by a change rather than a stop)"""
    holds: dict[str, list[reconcile.HoldFact]] = field(default_factory=lambda: defaultdict(list))
    slots: dict[tuple[str, datetime], dict[str, list[reconcile.DoseFact]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    """Doses per scheduled slot ``(order_id, scheduled_for)``, by recording device: a new dose
    is compared with the OTHER devices' doses only, so one device's many doses of a slot cost
    nothing (the rule ignores same-device pairs anyway)."""
    by_order: dict[str, list[reconcile.DoseFact]] = field(default_factory=lambda: defaultdict(list))
    voided: set[str] = field(default_factory=set)
    raised: set[tuple[str, frozenset[str]]] = field(default_factory=set)
    skewed: set[str] = field(default_factory=set)
    awaiting: dict[str, str] = field(default_factory=dict)
    """Orders awaiting verification (id -> the entry that recorded them)."""
    returned: dict[str, str] = field(default_factory=dict)
    """Orders returned at verification (id -> the return entry)."""
    urgent: set[str] = field(default_factory=set)
    """Doses flagged as urgent doses on unverified orders (their entry ids)."""
    by_resident: dict[str, list[reconcile.DoseFact]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Doses of residents with an order stating a 24 h amount maximum (see ``limited``)."""
    limited: set[str] = field(default_factory=set)
    """Residents with an order stating a 24 h amount maximum: only their doses are kept by
    resident and checked across orders."""
    upgraded: bool = False
    """The facility's ``order.verified_at_upgrade`` has been read: v1 orders after it await
    verification (before it they are the ones it names, or were in use before it)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    dirty: bool = False
    received_at: datetime | None = None
    """Receive time of the newest live push not yet looked at (for clock skew)."""
    built: bool = False
    """Set after the first complete catch-up (the rebuild from the whole feed)."""


class Reconciler:
    """See the module docstring. One per app (``app.state.reconciler``); several processes
    each have their own."""

    def __init__(self, core: ServerCore) -> None:
        self._core = core
        self._indexes: dict[str, _Index] = {}
        self._guard = threading.Lock()
        self._checked: dict[str, DoseBody] = {}

    def _index(self, facility_id: str) -> tuple[_Index, bool]:
        with self._guard:
            index = self._indexes.get(facility_id)
            fresh = index is None
            if index is None:
                index = self._indexes[facility_id] = _Index()
            return index, fresh

    def after_push(self, facility_id: str, received_at: datetime | None = None) -> int:
        """Checks the facility's entries not seen yet; returns how many alerts this call
        raised. Never raises and never waits for another thread (see module doc)."""
        index, fresh = self._index(facility_id)
        if fresh:
            self._rebuild(index, facility_id)
            return 0
        if received_at is not None:
            index.received_at = received_at
        return self._drain(index, facility_id)

    def _rebuild(self, index: _Index, facility_id: str) -> None:
        """The whole feed is read once, on its own thread: not on a request's time."""
        thread = threading.Thread(
            target=self._drain, args=(index, facility_id), name="mar-reconcile", daemon=True
        )
        thread.start()

    def remember_checked(self, doses: Mapping[str, DoseBody]) -> None:
        """Keeps what a push's check read from its ``administration.recorded`` bodies, by the
        SHA-256 of each entry's bytes, so the catch-up that meets those bytes in the feed does
        not parse them again (taken once; bounded)."""
        if not doses:
            return
        with self._guard:
            if len(self._checked) + len(doses) > _CHECKED_MAX:
                self._checked.clear()  # only a shortcut: the feed is parsed instead
            self._checked.update(doses)

    def note_received(self, facility_id: str, received_at: datetime | None) -> None:
        """Records the receive time of a push whose entries are not looked at yet (the
        clock-skew rule judges them against it, whoever catches up next)."""
        with self._guard:
            index = self._indexes.get(facility_id)
        if index is not None and received_at is not None:
            index.received_at = received_at

    def catch_up_waiting(self, facility_id: str) -> int:
        """:meth:`after_push` for :mod:`.reconcile_live`: waits for the facility's index
        instead of leaving the work to its holder, so when it returns every entry committed
        before the call has been checked. A fresh index is still rebuilt on its own
        ``mar-reconcile`` thread (this returns at once then). Never raises ``MarError``."""
        index, fresh = self._index(facility_id)
        if fresh:
            self._rebuild(index, facility_id)
            return 0
        raised = 0
        index.dirty = True
        while index.dirty:
            with index.lock:
                index.dirty = False
                received_at, index.received_at = index.received_at, None
                try:
                    raised += self._catch_up(index, facility_id, received_at)
                except (MarError, ValueError):
                    log.exception("reconciliation failed; retried after the next push")
                    return raised
        return raised

    def built(self, facility_id: str) -> bool:
        """True once the facility's index has been read up to the feed head at least once."""
        with self._guard:
            index = self._indexes.get(facility_id)
        return index is not None and index.built

    def _drain(self, index: _Index, facility_id: str) -> int:
        raised = 0
        index.dirty = True
        while index.dirty:
            if not index.lock.acquire(blocking=False):
                return raised  # the holder goes round again: it sees ``dirty`` after letting go
            try:
                index.dirty = False
                received_at, index.received_at = index.received_at, None
                raised += self._catch_up(index, facility_id, received_at)
            except (MarError, ValueError):
                log.exception("reconciliation failed; retried after the next push")
                return raised
            finally:
                index.lock.release()
        return raised

    def _catch_up(self, index: _Index, facility_id: str, received_at: datetime | None) -> int:
        server = self._core.store.server_device(facility_id)
        server_device = None if server is None else server.device_id
        found: list[kinds.AlertRaised] = []
        newest: dict[str, _Row] = {}
        while True:
            rows, parsed = self._page(facility_id, index.pos)
            for row in rows:
                checked = None
                if row.kind == kinds.ADMINISTRATION_RECORDED:
                    checked = self._checked.pop(row.digest, None)
                if checked is not None:  # the push parsed and checked these very bytes
                    fact = _dose_fact(row.entry_id, row.device_id, row, checked)
                    found.extend(a for a in self._dose(index, fact) if a is not None)
                elif row.kind in _WATCHED:
                    stored = parsed.get(row.pos) or self._entry_at(facility_id, row.pos)
                    found.extend(self._fold(index, _stored_entry(stored), server_device))
                if received_at is not None and row.device_id != server_device:
                    newest[row.device_id] = row
                index.pos = row.pos
            if len(rows) < _PAGE:
                break
        if received_at is not None:
            threshold = index.settings.clock_skew_alert_seconds
            for device_id, last in newest.items():
                if device_id in index.skewed:
                    continue
                alert = reconcile.clock_skew(
                    device_id,
                    last.entry_id,
                    parse_utc(last.recorded_at),
                    received_at,
                    threshold,
                )
                if alert is not None:
                    index.skewed.add(device_id)
                    found.append(alert)
        index.built = True
        return self._store_alerts(index, facility_id, found)

    def _store_alerts(
        self, index: _Index, facility_id: str, found: list[kinds.AlertRaised]
    ) -> int:
        """Appends the alerts not raised before (by this process: ``raised``; by any: a claimed
        ``alert_keys`` row) as server entries; how many were stored. Caller holds
        ``index.lock``."""
        fresh = []
        for alert in found:
            key = reconcile.alert_key(alert.alert_type, alert.related_entry_ids)
            if key not in index.raised:
                index.raised.add(key)
                fresh.append(alert)
        if not fresh:
            return 0
        with self._core.store.write() as txn:
            txn.lock_facility(facility_id)
            stamp = utc_iso(self._core.clock.now())
            claimed = [
                a
                for a in fresh
                if txn.claim_alert(facility_id, a.alert_type, alert_subject(a), stamp)
            ]
            drafts = [
                EntryDraft(kinds.ALERT_RAISED, SYSTEM_ACTOR, kinds.body_json(a)) for a in claimed
            ]
            if drafts:
                start = txn.next_pos(facility_id, "ledger")
                self._core.append_server_entries(txn, facility_id, drafts)
        if drafts and start == index.pos + 1:
            # nothing was stored between what the index has read and these alerts, and
            # folding them would only add what ``raised``/``skewed`` already hold: skip them,
            # so the read barrier (``behind``) does not read them back
            index.pos = start + len(drafts) - 1
        return len(drafts)

    def judge_device_clock(
        self, facility_id: str, device_id: str, device_time: datetime, head_entry_id: str | None
    ) -> bool:
        """Compares a device's clock, sent with its sync, with the server's; raises one
        ``clock_skew`` alert per device (behind as well as ahead) when it is off by more than
        the facility's ``clock_skew_alert_seconds``. True if the clock is off. Never waits for
        a catch-up that holds the facility's index (the next sync judges again) and never raises
        ``MarError`` (logged)."""
        index, fresh = self._index(facility_id)
        if fresh:  # first use after a start: the whole feed is read on its own thread
            self._rebuild(index, facility_id)
        server_time = self._core.clock.now()
        alert = reconcile.device_clock_skew(
            device_id, device_time, server_time, index.settings.clock_skew_alert_seconds,
            head_entry_id,
        )
        if alert is None:
            return False
        if device_id in index.skewed:
            return True
        if not index.lock.acquire(blocking=False):
            return True  # a catch-up holds the index (maybe the whole feed): judged next sync
        try:
            index.skewed.add(device_id)
            self._store_alerts(index, facility_id, [alert])
        except MarError:
            index.skewed.discard(device_id)  # not stored: tried again at the next sync
            log.exception("the clock-skew alert could not be stored")
        finally:
            index.lock.release()
        return True

    def behind(self, facility_id: str) -> bool:
        """True if this process's index of the facility is built and the ledger feed holds
        entries it has not looked at yet (stored through this or any other process). One
        indexed query. A process that has no index of the facility yet (it has taken no push
        of it) starts building one on its ``mar-reconcile`` thread and answers False."""
        index, fresh = self._index(facility_id)
        if fresh:
            self._rebuild(index, facility_id)
            return False
        if not index.built:
            return False
        return self._core.store.last_pos(facility_id, "ledger") > index.pos

    def _page(self, facility_id: str, after: int) -> tuple[Sequence[_Row], dict[int, StoredEntry]]:
        """The next page of the ledger feed after ``after``, and the stored entries of it whose
        bytes must be parsed, by position.

        While pushes have left checked doses to take (``_checked``), the page is read without
        the entries' bytes, and only the watched entries that are not such doses are read whole
        (orders, voids, settings, alerts: few): a push's doses are ~1 kB each that the catch-up
        would otherwise read back and drop, on the server's request threads' time. Otherwise
        (the rebuild from the whole feed after a start) the page is read whole at once."""
        store = self._core.store
        if not self._checked:
            page = store.feed(facility_id, "ledger", after, _PAGE)
            return page, {e.pos: e for e in page}
        heads = store.feed_heads(facility_id, "ledger", after, _PAGE)
        wanted = [
            h.pos
            for h in heads
            if h.kind in _WATCHED
            and not (h.kind == kinds.ADMINISTRATION_RECORDED and h.digest in self._checked)
        ]
        if not wanted:
            return heads, {}
        span = store.feed(facility_id, "ledger", wanted[0] - 1, wanted[-1] - wanted[0] + 1)
        keep = set(wanted)
        return heads, {e.pos: e for e in span if e.pos in keep}

    def _entry_at(self, facility_id: str, pos: int) -> StoredEntry:
        """The stored ledger entry at feed position ``pos`` (one whose checked body was dropped
        from ``_checked`` after its page was read: the cache is bounded)."""
        page = self._core.store.feed(facility_id, "ledger", pos - 1, 1)
        if not page or page[0].pos != pos:
            raise ValueError(f"feed position {pos} is not stored")
        return page[0]

    def _fold(
        self, index: _Index, entry: Entry, server_device: str | None
    ) -> list[kinds.AlertRaised]:
        kind = entry.kind
        if kind not in _WATCHED:
            return []
        try:
            body = kinds.parse_body(kind, entry.body)
        except MarError:
            return []  # the push checks bodies; an old invalid one is verify's business
        out: list[kinds.AlertRaised | None] = []
        if isinstance(body, kinds.FacilityConfigured):
            index.settings = body.facility.settings
        elif isinstance(body, kinds.SettingsChanged):
            index.settings = body.after
        elif isinstance(body, kinds.OrderCreated):
            index.orders[body.order.order_id] = body.order
            _note_amount_max(index, body.order)
            self._note_order(index, body, entry)
        elif isinstance(body, kinds.OrderChanged):
            index.orders[body.order.order_id] = body.order
            _note_amount_max(index, body.order)
            self._note_order(index, body, entry)
            if body.replaces_now:
                out.extend(self._discontinue(
                    index, body.replaces_order_id, body.effective_at, entry, changed=True
                ))
        elif isinstance(body, kinds.OrderVerified):
            if entry.actor.get("user_id") != body.target_author_user_id:
                index.awaiting.pop(body.order_id, None)
        elif isinstance(body, kinds.OrderReturned):
            out.extend(self._return(index, body.order_id, entry.id))
        elif isinstance(body, kinds.OrdersVerifiedAtUpgrade) and entry.device_id == server_device:
            index.upgraded = True
            for order_id in body.order_ids:
                index.awaiting.pop(order_id, None)
        elif isinstance(body, kinds.UrgentDoseRecorded):
            index.urgent.add(body.administration_entry_id)
            out.append(
                reconcile.urgent_dose(
                    entry.id,
                    body.administration_entry_id,
                    body.resident_id,
                    body.order_id,
                    entry.device_id,
                )
            )
        elif isinstance(body, kinds.OrderStatusChanged) and kind == kinds.ORDER_DISCONTINUED:
            out.extend(self._discontinue(index, body.order_id, body.effective_at, entry))
        elif isinstance(body, kinds.OrderStatusChanged) and kind == kinds.ORDER_HELD:
            out.extend(self._hold(index, body.order_id, body.effective_at, entry))
        elif isinstance(body, kinds.OrderStatusChanged) and kind == kinds.ORDER_RESUMED:
            _resume(index, body.order_id, body.effective_at)
        elif isinstance(body, kinds.EntryVoided):
            index.voided.add(body.target_entry_id)
        elif isinstance(body, kinds.AlertRaised) and entry.device_id == server_device:
            index.raised.add(reconcile.alert_key(body.alert_type, body.related_entry_ids))
            if body.alert_type == "clock_skew" and body.device_id:
                index.skewed.add(body.device_id)
        elif isinstance(body, kinds.AdministrationRecorded):
            b = body
            dose = (
                b.resident_id, b.order_id, b.scheduled_for, b.administered_at, b.outcome,
                b.dose_given,
            )
            out.extend(self._dose(index, _dose_fact(entry.id, entry.device_id, entry, dose)))
        return [a for a in out if a is not None]

    def _discontinue(
        self, index: _Index, order_id: str, at: datetime, entry: Entry, *, changed: bool = False
    ) -> list[kinds.AlertRaised | None]:
        ended = index.discontinued.get(order_id)
        if ended is not None and ended[0] <= at:
            return []
        index.discontinued[order_id] = (at, entry.id, changed)
        return [
            reconcile.discontinued_dose(dose, at, entry.id, index.voided, changed=changed)
            for dose in index.by_order.get(order_id, [])
        ]

    def _hold(
        self, index: _Index, order_id: str, at: datetime, entry: Entry
    ) -> list[kinds.AlertRaised | None]:
        """A hold from ``at`` (until a resume that follows it in the feed): doses already
        held that fall in it are alerted; later doses are checked by :meth:`_dose`."""
        hold = reconcile.HoldFact(entry.id, at)
        index.holds[order_id].append(hold)
        return [
            reconcile.held_dose(dose, [hold], index.voided)
            for dose in index.by_order.get(order_id, [])
        ]

    @staticmethod
    def _note_order(
        index: _Index, body: kinds.OrderCreated | kinds.OrderChanged, entry: Entry
    ) -> None:
        """Tracks an order awaiting verification: one that needs it (a v2 body that says so,
        or a v1 body recorded after the upgrade entry), unless a change acting at once."""
        order_id = body.order.order_id
        if body.v == 1:
            needs = index.upgraded
        else:
            needs = body.provenance.verification == "required"
            if isinstance(body, kinds.OrderChanged) and body.acts_at_once:
                needs = False
        if needs:
            index.awaiting[order_id] = entry.id
        else:
            index.awaiting.pop(order_id, None)

    def _return(
        self, index: _Index, order_id: str, entry_id: str
    ) -> list[kinds.AlertRaised | None]:
        if order_id in index.returned:
            return []
        index.returned[order_id] = entry_id
        index.awaiting.pop(order_id, None)
        return [
            reconcile.returned_dose(dose, entry_id, index.voided)
            for dose in index.by_order.get(order_id, [])
        ]

    def _dose(self, index: _Index, dose: reconcile.DoseFact) -> list[kinds.AlertRaised | None]:
        out: list[kinds.AlertRaised | None] = []
        returned = index.returned.get(dose.order_id)
        if returned is not None:
            out.append(reconcile.returned_dose(dose, returned, index.voided))
        recorded = index.awaiting.get(dose.order_id)
        if recorded is not None and dose.entry_id not in index.urgent:
            out.append(reconcile.unverified_dose(dose, recorded, index.voided))
        stop = index.discontinued.get(dose.order_id)
        if stop is not None:
            out.append(reconcile.discontinued_dose(dose, stop[0], stop[1], index.voided,
                                                   changed=stop[2]))
        holds = index.holds.get(dose.order_id)
        if holds:
            out.append(reconcile.held_dose(dose, holds, index.voided))
        if dose.scheduled_for is not None:
            slot = index.slots[(dose.order_id, dose.scheduled_for)]
            others = [d for device, ds in slot.items() if device != dose.device_id for d in ds]
            out.append(reconcile.double_dose(dose, others, index.voided))
            slot.setdefault(dose.device_id, []).append(dose)
        order = index.orders.get(dose.order_id)
        if order is not None and order.is_prn:
            doses = index.by_order[dose.order_id]
            out.append(reconcile.prn_limits(order, dose, doses, index.voided))
        index.by_order[dose.order_id].append(dose)
        if dose.resident_id in index.limited and order is not None:
            out.append(_amount_max(index, order, dose))
            index.by_resident[dose.resident_id].append(dose)
        return out


def _note_amount_max(index: _Index, order: Order) -> None:
    """From an order stating a 24 h amount maximum on, its resident's doses are kept by
    resident (and the doses already folded for them gathered once)."""
    if order.max_amount_24h is None or order.resident_id in index.limited:
        return
    index.limited.add(order.resident_id)
    index.by_resident[order.resident_id] = [
        d for ds in index.by_order.values() for d in ds if d.resident_id == order.resident_id
    ]


def _amount_max(
    index: _Index, order: Order, dose: reconcile.DoseFact
) -> kinds.AlertRaised | None:
    """The 24 h amount maximum across the resident's orders and devices
    (:func:`mar_desktop.clinical.reconcile.amount_max`); orders discontinued at or before the
    dose no longer set a maximum."""
    running = [
        o for o in index.orders.values()
        if o.resident_id == dose.resident_id and o.max_amount_24h is not None
        and not (o.order_id in index.discontinued
                 and index.discontinued[o.order_id][0] <= dose.administered_at)
    ]
    return reconcile.amount_max(
        order, dose, index.by_resident[dose.resident_id], index.orders, running, index.voided
    )


def _resume(index: _Index, order_id: str, at: datetime) -> None:
    """Ends the order's open hold that began at or before ``at`` (a resume ends one hold)."""
    holds = index.holds.get(order_id, [])
    for i in range(len(holds) - 1, -1, -1):
        if holds[i].end is None and holds[i].start <= at:
            holds[i] = reconcile.HoldFact(holds[i].entry_id, holds[i].start, at)
            return


def alert_subject(alert: kinds.AlertRaised) -> str:
    """What an alert is about, for its row in ``alert_keys`` (one alert per kind and subject):
    the device for a clock-skew alert (raised once per device), else the SHA-256 of the
    related entry ids (the same set :func:`~mar_desktop.clinical.reconcile.alert_key` uses)."""
    if alert.alert_type == "clock_skew" and alert.device_id:
        return f"device:{alert.device_id}"
    related = "\n".join(sorted(alert.related_entry_ids))
    return "entries:" + hashlib.sha256(related.encode()).hexdigest()


def _dose_fact(
    entry_id: str, device_id: str, timed: Entry | _Row, dose: DoseBody
) -> reconcile.DoseFact:
    resident_id, order_id, scheduled_for, administered_at, outcome, dose_given = dose
    return reconcile.DoseFact(
        entry_id=entry_id,
        device_id=device_id,
        resident_id=resident_id,
        order_id=order_id,
        scheduled_for=scheduled_for,
        administered_at=administered_at,
        recorded_at=parse_utc(timed.recorded_at),
        outcome=outcome,
        dose_given=dose_given,
    )


def _stored_entry(stored: StoredEntry) -> Entry:
    """The envelope of a stored row without re-proving its canonical form or its signature:
    every row was checked by the push (or relay, or sealed by this server) before it was
    stored. Raises ``ValueError`` if the row does not hold an entry envelope."""
    try:
        return parse_raw(stored.raw, known_canonical=True)
    except ValueError as exc:
        raise ValueError(f"stored entry seq {stored.seq} is not an envelope") from exc


_WATCHED = frozenset(
    {
        kinds.FACILITY_CONFIGURED,
        kinds.SETTINGS_CHANGED,
        kinds.ORDER_CREATED,
        kinds.ORDER_CHANGED,
        kinds.ORDER_DISCONTINUED,
        kinds.ORDER_HELD,
        kinds.ORDER_RESUMED,
        kinds.ORDER_VERIFIED,
        kinds.ORDER_RETURNED,
        kinds.ORDERS_VERIFIED_AT_UPGRADE,
        kinds.URGENT_DOSE_RECORDED,
        kinds.ENTRY_VOIDED,
        kinds.ALERT_RAISED,
        kinds.ADMINISTRATION_RECORDED,
    }
)
