"""The read model: :class:`mar_desktop.ports.ReadModel` over the projection tables.

Contract: one :class:`SqlReadModel` per thread, on that thread's own read connection (see
``LocalStore.reader``); it never writes. Queries that read several tables run in one read
transaction, so they see one committed state. Returned objects are immutable snapshots and
hold PHI: never log them. Parsed models are cached by the stamp of the entry that set them
(:class:`ModelCache`, shared between threads), so hot screens don't re-validate JSON.
Order status (active/held/discontinued) is as of ``clock.now()``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

from mar_desktop.clock import Clock, utc_iso
from mar_desktop.model import Facility, FacilitySettings, Order, Outcome, Resident, Unit, User
from mar_desktop.people.statements import AccountRecord
from mar_desktop.views import (
    AdministrationRecord,
    AlertView,
    Amendment,
    OrderState,
    OrderStatus,
    Waste,
)
from storage import account_chain, history
from storage.database import Connection
from storage.read_model_orders import OrderRow, build_order_state, link_changes
from storage.read_model_sql import (
    ADMIN_BY_ID,
    ADMIN_IN_RANGE,
    ALERTS,
    AMENDMENTS,
    COL_FOLLOWUP_MINUTES,
    COL_IS_PRN,
    COL_TOUCHED,
    FOLLOWUPS,
    NEAR_SLACK,
    ORDER_AND_CHANGES,
    ORDER_CHECKS,
    ORDER_EVENTS,
    ORDERS_BY_RESIDENTS,
    RESIDENT_COLUMNS,
    URGENT,
    VOIDS,
    WASTES,
    WITNESSED,
    amendments_of,
)
from storage.read_model_verification import VerificationReads

M = TypeVar("M")
P = TypeVar("P", bound=BaseModel)
_parse_time = datetime.fromisoformat


def _time(text: str | None) -> datetime | None:
    return None if text is None else _parse_time(text)


class ModelCache:
    """Parsed models keyed by (table, id, stamps). Safe to share between threads (GIL-atomic
    dict operations; a race only parses twice or drops an entry).

    Bounded to ``limit`` entries (~1.3 kB per administration record, ~3 kB per order): two
    generations of ``limit // 2``; a hit in the old one moves the entry to the young one, and
    when the young one is full it becomes the old one (the previous old one is dropped). An
    entry used again before ``limit // 2`` others pass is kept: the working set of the bedside
    views (due-now, overview, the MARs of a unit's residents: a few thousand entries) stays
    while reports read history, and memory stays ≤ ~25 MB however much history is read."""

    def __init__(self, limit: int = 20_000) -> None:
        self._young: dict[tuple[Any, ...], Any] = {}
        self._old: dict[tuple[Any, ...], Any] = {}
        self._half = max(1, limit // 2)

    def __len__(self) -> int:
        return len(self._young) + len(self._old)

    def get(self, key: tuple[Any, ...], build: Callable[[], M]) -> M:
        found = self._young.get(key)
        if found is None:
            found = self._old.get(key)
            if found is None:
                found = build()
            if len(self._young) >= self._half:
                self._old, self._young = self._young, {}
            self._young[key] = found
        return found


def _parser(model: type[P], text: str) -> Callable[[], P]:
    def parse() -> P:
        return model.model_validate_json(text)

    return parse


def _admin_scope(
    resident_ids: Collection[str] | None, order_ids: Collection[str] | None
) -> tuple[str, dict[str, str]]:
    """The :data:`ADMIN_QUERIES` mode for a filter, and its parameters besides the time range:
    one resident's one order (the rules' read on every record) by plain equalities, sets as
    JSON arrays for ``json_each``."""
    if resident_ids is not None and order_ids is not None:
        if len(resident_ids) == 1 and len(order_ids) == 1:
            return "one", {"resident": next(iter(resident_ids)), "order": next(iter(order_ids))}
        return "both", {"residents": _ids(resident_ids), "orders": _ids(order_ids)}
    if resident_ids is not None:
        return "residents", {"residents": _ids(resident_ids)}
    if order_ids is not None:
        return "orders", {"orders": _ids(order_ids)}
    return "all", {}


def _ids(values: Collection[str]) -> str:
    return json.dumps(list(values))


class SqlReadModel(VerificationReads):
    """Implements ``ReadModel`` on one connection (use it only on the thread that opened it)."""

    def __init__(self, conn: Connection, clock: Clock, cache: ModelCache | None = None) -> None:
        self._conn = conn
        self._clock = clock
        self._cache = cache if cache is not None else ModelCache()

    def close(self) -> None:
        self._conn.close()

    def _snapshot(self) -> _Snapshot:
        return _Snapshot(self._conn)

    # --- facility and units ---------------------------------------------------------------------
    def facility(self) -> Facility | None:
        row = self._conn.execute(
            "SELECT facility_json, stamp, settings_json, settings_stamp FROM facility "
            "WHERE singleton = 1 AND facility_json IS NOT NULL"
        ).fetchone()
        if row is None:
            return None

        def build() -> Facility:
            data = json.loads(row[0])
            if row[2] is not None:
                data["settings"] = json.loads(row[2])
            return Facility.model_validate(data)

        return self._cache.get(("facility", row[1], row[3]), build)

    def settings(self) -> FacilitySettings:
        """The facility's current settings (defaults until configured)."""
        row = self._conn.execute(
            "SELECT settings_json, settings_stamp FROM facility WHERE singleton = 1"
        ).fetchone()
        if row is None or row[0] is None:
            return FacilitySettings()
        return self._cache.get(
            ("settings", row[1]), lambda: FacilitySettings.model_validate_json(row[0])
        )

    def units(self) -> list[Unit]:
        rows = self._conn.execute(
            "SELECT unit_id, unit_json, stamp FROM units ORDER BY name, unit_id"
        ).fetchall()
        return [self._cache.get(("unit", r[0], r[2]), _parser(Unit, r[1])) for r in rows]

    # --- residents ------------------------------------------------------------------------------
    def _resident(self, row: Any) -> Resident:
        rid, body, demo_stamp, unit_id, room, loc_stamp, active, active_stamp = row

        def build() -> Resident:
            base = Resident.model_validate_json(body)
            update: dict[str, Any] = {}
            if unit_id is not None:
                update["unit_id"] = unit_id
                update["room"] = room
            if active is not None:
                update["active"] = bool(active)
            return base.model_copy(update=update) if update else base

        return self._cache.get(("resident", rid, demo_stamp, loc_stamp, active_stamp), build)

    def resident(self, resident_id: str) -> Resident | None:
        row = self._conn.execute(
            f"SELECT {RESIDENT_COLUMNS} FROM residents "
            "WHERE resident_id = ? AND resident_json IS NOT NULL",
            (resident_id,),
        ).fetchone()
        return None if row is None else self._resident(row)

    def resident_by_wristband(self, wristband_id: str) -> Resident | None:
        rows = self._conn.execute(
            f"SELECT {RESIDENT_COLUMNS} FROM residents "
            "WHERE wristband_id = ? AND resident_json IS NOT NULL ORDER BY demo_stamp DESC",
            (wristband_id,),
        ).fetchall()
        found = [self._resident(r) for r in rows]
        active = [r for r in found if r.active]
        best = active or found
        return best[0] if best else None

    def residents(
        self, unit_ids: Collection[str] | None = None, *, include_inactive: bool = False
    ) -> list[Resident]:
        """Residents of the given units (all if None), ordered by room then name."""
        where = "resident_json IS NOT NULL"
        params: tuple[Any, ...] = ()
        if unit_ids is not None:
            where += " AND eff_unit_id IN (SELECT value FROM json_each(?))"
            params = (_ids(unit_ids),)
        rows = self._conn.execute(
            f"SELECT {RESIDENT_COLUMNS} FROM residents WHERE {where} "
            "ORDER BY coalesce(room, demo_room), family_name, given_name, resident_id",
            params,
        ).fetchall()
        result = [self._resident(r) for r in rows]
        return result if include_inactive else [r for r in result if r.active]

    # --- orders ---------------------------------------------------------------------------------
    def _order_states(
        self, order_rows: list[Any], event_rows: list[Any], check_rows: list[Any]
    ) -> list[OrderState]:
        """States of ``order_rows`` (``ORDER_COLUMNS``), linked to the changes among them."""
        events: dict[str, list[Any]] = {}
        for ev in event_rows:
            events.setdefault(ev[0], []).append(ev)
        checks: dict[str, list[Any]] = {}
        for check in check_rows:
            checks.setdefault(check[0], []).append(check)
        now = self._clock.now()
        states = []
        for row in order_rows:
            order_id, body, stamp = row[0], row[1], row[2]
            order = self._cache.get(("order", order_id, stamp), _parser(Order, body))
            states.append(
                build_order_state(
                    order, events.get(order_id, ()), now, OrderRow.of(row), checks.get(order_id, ())
                )
            )
        changes: dict[str, list[OrderState]] = {}
        for state in states:
            if state.replaces is not None:
                changes.setdefault(state.replaces, []).append(state)
        if not changes:
            return states
        return [link_changes(s, changes.get(s.order_id, ())) for s in states]

    def order(self, order_id: str) -> OrderState | None:
        with self._snapshot():
            found = self._conn.execute(ORDER_AND_CHANGES, (order_id,)).fetchall()
            rows = sorted(found, key=lambda r: r[0] != order_id)  # the order itself first
            if not rows or rows[0][0] != order_id:
                return None
            ids = _ids([r[0] for r in rows])
            events = self._conn.execute(ORDER_EVENTS, (ids,)).fetchall()
            checks = self._conn.execute(ORDER_CHECKS, (ids,)).fetchall()
        return self._order_states(rows, events, checks)[0]

    def orders(
        self, resident_ids: Collection[str], *, include_discontinued: bool = False
    ) -> list[OrderState]:
        """The residents' orders (discontinued or ended ones only if asked), by resident, drug."""
        ids = _ids(resident_ids)
        with self._snapshot():
            orders = self._conn.execute(ORDERS_BY_RESIDENTS, (ids,)).fetchall()
            order_ids = _ids([o[0] for o in orders])
            events = self._conn.execute(ORDER_EVENTS, (order_ids,)).fetchall()
            checks = self._conn.execute(ORDER_CHECKS, (order_ids,)).fetchall()
        states = self._order_states(orders, events, checks)
        if include_discontinued:
            return states
        return [s for s in states if s.status != OrderStatus.DISCONTINUED]

    # --- administrations ------------------------------------------------------------------------
    def administrations(
        self,
        *,
        since: datetime,
        until: datetime,
        resident_ids: Collection[str] | None = None,
        order_ids: Collection[str] | None = None,
    ) -> list[AdministrationRecord]:
        """Records whose administered_at or scheduled_for lies in ``[since, until)``, voided ones
        included (flagged), ordered by administered_at."""
        mode, scope = _admin_scope(resident_ids, order_ids)
        params = {
            "since": utc_iso(since),
            "until": utc_iso(until),
            "near_since": utc_iso(since - NEAR_SLACK),
            "near_until": utc_iso(until + NEAR_SLACK),
            **scope,
        }
        with self._snapshot():
            rows = self._conn.execute(ADMIN_IN_RANGE[mode], params).fetchall()
            records = self._records(rows)
        records.sort(key=_by_time)
        return records

    def administration(self, entry_id: str) -> AdministrationRecord | None:
        with self._snapshot():
            found = self._records(self._conn.execute(ADMIN_BY_ID, (entry_id,)).fetchall())
        return found[0] if found else None

    def _records(self, rows: list[Any]) -> list[AdministrationRecord]:
        """Builds records from administration rows (inside the caller's snapshot).

        Voids, follow-ups and amendments are read only for rows flagged ``touched``; the
        facility's default follow-up time only when a row is of a PRN order (nothing else
        depends on it)."""
        if not rows:
            return []
        voids: dict[str, Any] = {}
        followups: dict[str, Any] = {}
        amendments: dict[str, tuple[Amendment, ...]] = {}
        urgent: dict[str, Any] = {}
        witnessed: dict[str, Any] = {}
        wastes: dict[str, list[Waste]] = {}
        touched = [r[0] for r in rows if r[COL_TOUCHED]]
        if touched:
            ids = _ids(touched)
            # later rows overwrite earlier ones: ordered latest-first, the earliest per target wins
            voids = {r[0]: r for r in self._conn.execute(VOIDS, (ids,))}
            followups = {r[0]: r for r in self._conn.execute(FOLLOWUPS, (ids,))}
            amendments = amendments_of(self._conn.execute(AMENDMENTS, (ids,)).fetchall())
            urgent = {r[0]: r for r in self._conn.execute(URGENT, (ids,))}
            keys = _AccountKeys(self._conn)
            witnessed = {
                r[0]: r for r in self._conn.execute(WITNESSED, (ids,)) if keys.holds(r[4], r[5])
            }
            for w in self._conn.execute(WASTES, (ids,)):
                wastes.setdefault(w[0], []).append(_waste(w, keys.holds(w[8], w[9])))
        default_followup = 0
        if any(r[COL_IS_PRN] for r in rows):
            default_followup = self.settings().prn_followup_minutes
        records = []
        for r in rows:
            if r[COL_TOUCHED]:
                record = _record(r, voids, followups, amendments, default_followup)
                flag = urgent.get(r[0])
                if flag is not None:
                    record = dataclasses.replace(
                        record, urgent_reason=flag[1], urgent_second_name=flag[2]
                    )
                proven = witnessed.get(r[0])
                if proven is not None or r[0] in wastes:
                    record = dataclasses.replace(
                        record,
                        witness_entry_id=None if proven is None else proven[1],
                        witnessed_by="" if proven is None else f"{proven[2]} {proven[3]}".strip(),
                        wastes=tuple(wastes.get(r[0], ())),
                    )
                records.append(record)
            else:  # nothing happened to it since: the same immutable record as last time
                is_prn = r[COL_IS_PRN]
                records.append(
                    self._cache.get(
                        (
                            "administration",
                            r[0],
                            is_prn,
                            r[COL_FOLLOWUP_MINUTES],
                            default_followup if is_prn else None,
                        ),
                        functools.partial(_record, r, {}, {}, {}, default_followup),
                    )
                )
        return records

    # --- users ----------------------------------------------------------------------------------
    def _user(self, row: Any) -> User:
        return self._cache.get(("user", row[0], row[2]), lambda: User.model_validate_json(row[1]))

    def users(self, *, include_inactive: bool = False) -> list[User]:
        where = "" if include_inactive else "WHERE active = 1"
        rows = self._conn.execute(
            f"SELECT user_id, user_json, stamp FROM users {where} ORDER BY username, user_id"
        ).fetchall()
        return [self._user(r) for r in rows]

    def user(self, user_id: str) -> User | None:
        row = self._conn.execute(
            "SELECT user_id, user_json, stamp FROM users WHERE user_id = ?", (user_id,)
        ).fetchone()
        return None if row is None else self._user(row)

    def user_by_username(self, username: str) -> User | None:
        row = self._conn.execute(
            "SELECT user_id, user_json, stamp FROM users WHERE username = ? "
            "ORDER BY active DESC, stamp DESC LIMIT 1",
            (username,),
        ).fetchone()
        return None if row is None else self._user(row)

    # --- alerts ---------------------------------------------------------------------------------
    def alerts(self, *, open_only: bool = True) -> list[AlertView]:
        rows = self._conn.execute(ALERTS).fetchall()
        views = [
            AlertView(
                alert_id=r[0],
                entry_id=r[1],
                alert_type=r[2],
                raised_at=_parse_time(r[3]),
                resident_id=r[4],
                order_id=r[5],
                detail=r[6],
                related_entry_ids=tuple(json.loads(r[7])),
                acknowledged_by=r[8],
                acknowledged_at=_time(r[9]),
                ack_comment=r[10] or "",
            )
            for r in rows
        ]
        return [v for v in views if v.acknowledged_at is None] if open_only else views

    def history_complete_from(self) -> datetime | None:
        return history.complete_from(self._conn)


class _Snapshot:
    """A read transaction (one consistent view) unless one is already open."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._own = False

    def __enter__(self) -> None:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN")
            self._own = True

    def __exit__(self, *exc: object) -> None:
        if self._own:
            self._conn.execute("COMMIT")


def _by_time(record: AdministrationRecord) -> tuple[datetime, str]:
    return record.administered_at, record.entry_id


class _AccountKeys:
    """The user keys each witness's account has held, from the account records this tablet
    verified (:mod:`storage.account_chain`); read once per user per query."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._known: dict[str, frozenset[str]] = {}

    def holds(self, user_id: str | None, public: str | None) -> bool:
        """Whether ``public`` is a key of ``user_id``'s account (False for None)."""
        if user_id is None or public is None:
            return False
        if user_id not in self._known:
            self._known[user_id] = frozenset(
                r.user_public for r in account_chain.chain(self._conn, user_id)
                if isinstance(r, AccountRecord) and r.user_public is not None
            )
        return public in self._known[user_id]


def _waste(w: Any, proven: bool) -> Waste:
    return Waste(
        entry_id=w[1],
        amount=Decimal(w[2]),
        unit=w[3],
        reason=w[4],
        witness_name=w[5],
        actor_user_id=w[6],
        wasted_at=_parse_time(w[7]),
        witness_proven=proven,
    )


def _record(
    r: Any,
    voids: dict[str, Any],
    followups: dict[str, Any],
    amendments: dict[str, Any],
    default_followup: int,
) -> AdministrationRecord:
    entry_id = r[0]
    given_at = _parse_time(r[4])
    void = voids.get(entry_id)
    followup = followups.get(entry_id)
    is_prn, followup_minutes = r[COL_IS_PRN], r[COL_FOLLOWUP_MINUTES]
    due = None
    if is_prn and r[6] == Outcome.GIVEN and void is None:
        due = given_at + timedelta(minutes=followup_minutes or default_followup)
    return AdministrationRecord(
        entry_id=entry_id,
        resident_id=r[1],
        order_id=r[2],
        scheduled_for=_time(r[3]),
        administered_at=given_at,
        recorded_at=_parse_time(r[5]),
        outcome=Outcome(r[6]),
        actor_user_id=r[7],
        actor_role=r[8],
        device_id=r[9],
        reason_code=r[10],
        reason_text=r[11],
        dose_given=None if r[12] is None else Decimal(r[12]),
        dose_unit=r[13],
        route=r[14],
        site=r[15],
        note=r[16],
        prn_reason=r[17],
        pain_score=r[18],
        outside_window_reason=r[19],
        witness_user_id=r[20],
        witness_name=r[21],
        vitals=json.loads(r[22]) if r[22] != "{}" else {},
        voided=void is not None,
        void_reason="" if void is None else void[1],
        voided_by=None if void is None else void[2],
        voided_at=None if void is None else _parse_time(void[3]),
        amendments=amendments.get(entry_id, ()),
        followup_due_at=due,
        followup_done_at=None if followup is None else _parse_time(followup[1]),
        followup_result=None if followup is None else followup[2],
    )
