"""Projections of reference data: facility, settings, units, residents, orders, users, devices.

Last-writer-wins records: a row keeps the ``stamp`` of the entry that set it and only an entry
with a later stamp overwrites it, so the outcome does not depend on arrival order. Called by
:mod:`storage.projections` inside the writer's transaction.

Resident entries set separate parts: ``resident.admitted`` sets demographics, location and
active; ``resident.updated`` sets demographics only; ``resident.transferred`` sets location;
``resident.discharged`` clears active.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mar_desktop import kinds
from mar_desktop.clock import utc_iso
from mar_desktop.envelope import Entry
from mar_desktop.errors import IntegrityError
from mar_desktop.kinds import Body
from storage.database import Connection


def _dump(model: Any) -> str:
    return str(model.model_dump_json())


_FACILITY = (
    "INSERT INTO facility (singleton, facility_id, name, timezone, facility_json, stamp) "
    "VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (singleton) DO UPDATE SET "
    "facility_id = excluded.facility_id, name = excluded.name, timezone = excluded.timezone, "
    "facility_json = excluded.facility_json, stamp = excluded.stamp "
    "WHERE excluded.stamp > coalesce(facility.stamp, '')"
)
_SETTINGS = (
    "INSERT INTO facility (singleton, settings_json, settings_stamp) VALUES (1, ?, ?) "
    "ON CONFLICT (singleton) DO UPDATE SET "
    "settings_json = excluded.settings_json, settings_stamp = excluded.settings_stamp "
    "WHERE excluded.settings_stamp > coalesce(facility.settings_stamp, '')"
)


def _facility_configured(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.FacilityConfigured)
    facility = body.facility
    conn.execute(
        _FACILITY,
        (facility.facility_id, facility.name, facility.timezone, _dump(facility), stamp),
    )
    conn.execute(_SETTINGS, (_dump(facility.settings), stamp))


def _settings_changed(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.SettingsChanged)
    conn.execute(_SETTINGS, (_dump(body.after), stamp))


_UNIT = (
    "INSERT INTO units (unit_id, name, unit_json, stamp) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (unit_id) DO UPDATE SET name = excluded.name, unit_json = excluded.unit_json, "
    "stamp = excluded.stamp WHERE excluded.stamp > units.stamp"
)


def _unit_created(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.UnitCreated)
    conn.execute(_UNIT, (body.unit.unit_id, body.unit.name, _dump(body.unit), stamp))


_RESIDENT_DEMO = (
    "INSERT INTO residents (resident_id, resident_json, family_name, given_name, wristband_id, "
    "demo_unit_id, demo_room, demo_stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (resident_id) DO UPDATE SET resident_json = excluded.resident_json, "
    "family_name = excluded.family_name, given_name = excluded.given_name, "
    "wristband_id = excluded.wristband_id, demo_unit_id = excluded.demo_unit_id, "
    "demo_room = excluded.demo_room, demo_stamp = excluded.demo_stamp "
    "WHERE excluded.demo_stamp > coalesce(residents.demo_stamp, '')"
)
_RESIDENT_LOC = (
    "INSERT INTO residents (resident_id, unit_id, room, loc_stamp) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (resident_id) DO UPDATE SET unit_id = excluded.unit_id, "
    "room = excluded.room, loc_stamp = excluded.loc_stamp "
    "WHERE excluded.loc_stamp > coalesce(residents.loc_stamp, '')"
)
_RESIDENT_ACTIVE = (
    "INSERT INTO residents (resident_id, active, active_stamp) VALUES (?, ?, ?) "
    "ON CONFLICT (resident_id) DO UPDATE SET active = excluded.active, "
    "active_stamp = excluded.active_stamp "
    "WHERE excluded.active_stamp > coalesce(residents.active_stamp, '')"
)


def _resident_demographics(conn: Connection, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.ResidentAdmitted | kinds.ResidentUpdated)
    r = body.resident
    conn.execute(
        _RESIDENT_DEMO,
        (
            r.resident_id,
            _dump(r),
            r.family_name,
            r.given_name,
            r.wristband_id,
            r.unit_id,
            r.room,
            stamp,
        ),
    )


def _resident_admitted(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.ResidentAdmitted)
    r = body.resident
    _resident_demographics(conn, body, stamp)
    conn.execute(_RESIDENT_LOC, (r.resident_id, r.unit_id, r.room, stamp))
    conn.execute(_RESIDENT_ACTIVE, (r.resident_id, 1, stamp))


def _resident_updated(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    _resident_demographics(conn, body, stamp)


def _resident_transferred(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.ResidentTransferred)
    conn.execute(_RESIDENT_LOC, (body.resident_id, body.unit_id, body.room, stamp))


def _resident_discharged(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.ResidentDischarged)
    conn.execute(_RESIDENT_ACTIVE, (body.resident_id, 0, stamp))


_ORDER = (
    "INSERT INTO orders (order_id, resident_id, drug, is_prn, prn_followup_minutes, "
    "order_json, entry_id, stamp, author_user_id, verification, acts_at_once, "
    "replaces_order_id, source, source_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (order_id) DO UPDATE SET resident_id = excluded.resident_id, "
    "drug = excluded.drug, is_prn = excluded.is_prn, "
    "prn_followup_minutes = excluded.prn_followup_minutes, order_json = excluded.order_json, "
    "entry_id = excluded.entry_id, stamp = excluded.stamp, "
    "author_user_id = excluded.author_user_id, verification = excluded.verification, "
    "acts_at_once = excluded.acts_at_once, replaces_order_id = excluded.replaces_order_id, "
    "source = excluded.source, source_json = excluded.source_json "
    "WHERE excluded.stamp > orders.stamp"
)
_ORDER_EVENT = (
    "INSERT INTO order_events (entry_id, order_id, event, effective_at, reason, replaced_by, "
    "stamp, author_user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_order(
    conn: Connection,
    entry: Entry,
    order: Any,
    stamp: str,
    provenance: kinds.OrderProvenance,
    *,
    acts_at_once: bool = False,
    replaces: str | None = None,
) -> None:
    conn.execute(
        _ORDER,
        (
            order.order_id,
            order.resident_id,
            order.drug,
            int(order.is_prn),
            order.prn_followup_minutes,
            _dump(order),
            entry.id,
            stamp,
            entry.actor["user_id"],
            provenance.verification,
            int(acts_at_once),
            replaces,
            provenance.source,
            json.dumps([[v.field, v.value] for v in provenance.source_values]),
        ),
    )


def _order_created(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.OrderCreated)
    _insert_order(conn, entry, body.order, stamp, body.provenance)


def _order_changed(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    """A change that must wait for verification discontinues nothing here: the verifier's
    ``order.discontinued`` ends the previous version (``kinds.OrderChanged``)."""
    assert isinstance(body, kinds.OrderChanged)
    if body.replaces_now:
        conn.execute(
            _ORDER_EVENT,
            (
                entry.id,
                body.replaces_order_id,
                "discontinued",
                utc_iso(body.effective_at),
                body.reason,
                body.order.order_id,
                stamp,
                entry.actor["user_id"],
            ),
        )
    _insert_order(
        conn,
        entry,
        body.order,
        stamp,
        body.provenance,
        acts_at_once=body.acts_at_once and body.v >= 2,
        replaces=body.replaces_order_id,
    )


def _order_status(event: str) -> Callable[[Connection, Entry, Body, str], None]:
    def apply(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
        assert isinstance(body, kinds.OrderStatusChanged)
        conn.execute(
            _ORDER_EVENT,
            (
                entry.id,
                body.order_id,
                event,
                utc_iso(body.effective_at),
                body.reason,
                None,
                stamp,
                entry.actor["user_id"],
            ),
        )

    return apply


_USER = (
    "INSERT INTO users (user_id, username, role, active, user_json, stamp) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
    "username = excluded.username, role = excluded.role, active = excluded.active, "
    "user_json = excluded.user_json, stamp = excluded.stamp WHERE excluded.stamp > users.stamp"
)


def _user(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.UserCreated | kinds.UserChanged)
    user = body.user if isinstance(body, kinds.UserCreated) else body.after
    conn.execute(
        _USER,
        (user.user_id, user.username, str(user.role), int(user.active), _dump(user), stamp),
    )


def register_device_key(
    conn: Connection,
    device_id: str,
    public_key: str,
    *,
    label: str,
    registered_at: str,
    source: str,
) -> None:
    """Records a device's public key; the same key again is a no-op, a different one refused."""
    conn.execute(
        "INSERT OR IGNORE INTO device_keys (device_id, public_key, label, registered_at, source) "
        "VALUES (?, ?, ?, ?, ?)",
        (device_id, public_key, label, registered_at, source),
    )
    row = conn.execute(
        "SELECT public_key FROM device_keys WHERE device_id = ?", (device_id,)
    ).fetchone()
    if row is None or row[0] != public_key:
        raise IntegrityError("A device was enrolled again with a different key; refused.")


def _device_enrolled(conn: Connection, entry: Entry, body: Body, stamp: str) -> None:
    assert isinstance(body, kinds.DeviceEnrolled)
    register_device_key(
        conn,
        body.device_id,
        body.public_key,
        label=body.label,
        registered_at=entry.recorded_at,
        source=entry.id,
    )


REFERENCE: dict[str, Callable[[Connection, Entry, Body, str], None]] = {
    kinds.FACILITY_CONFIGURED: _facility_configured,
    kinds.SETTINGS_CHANGED: _settings_changed,
    kinds.UNIT_CREATED: _unit_created,
    kinds.RESIDENT_ADMITTED: _resident_admitted,
    kinds.RESIDENT_UPDATED: _resident_updated,
    kinds.RESIDENT_TRANSFERRED: _resident_transferred,
    kinds.RESIDENT_DISCHARGED: _resident_discharged,
    kinds.ORDER_CREATED: _order_created,
    kinds.ORDER_CHANGED: _order_changed,
    kinds.ORDER_HELD: _order_status("held"),
    kinds.ORDER_RESUMED: _order_status("resumed"),
    kinds.ORDER_DISCONTINUED: _order_status("discontinued"),
    kinds.USER_CREATED: _user,
    kinds.USER_CHANGED: _user,
    kinds.DEVICE_ENROLLED: _device_enrolled,
}
