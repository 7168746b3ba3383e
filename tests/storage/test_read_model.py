"""The read model returns the views the services and screens rely on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlcipher3

from mar_desktop import kinds
from mar_desktop.clock import FakeClock
from mar_desktop.model import Outcome
from mar_desktop.views import AdministrationRecord, OrderStatus
from storage.local_store import LocalStore
from tests import factories as f
from tests.storage.helpers import mixed_history

T0 = f.T0
DAY = timedelta(days=1)


def test_reference_data(store: LocalStore) -> None:
    ids = mixed_history(store.ledger)
    reader = store.reader()
    facility = reader.facility()
    assert facility is not None
    assert facility.name == "Maple Grove Care"
    assert facility.settings.prn_followup_minutes == 45  # from settings_changed
    assert [u.unit_id for u in reader.units()] == [ids["unit_id"]]
    r0, r1, r2 = ids["resident_ids"]
    active = reader.residents([ids["unit_id"]])
    assert [r.resident_id for r in active] == [r0, r2]  # r1 discharged; by room
    everyone = reader.residents(include_inactive=True)
    assert {r.resident_id for r in everyone} == {r0, r1, r2}
    moved = reader.resident(r2)
    assert moved is not None
    assert moved.room == "201B"
    assert moved.allergies[0].substance == "Penicillin"
    assert reader.resident_by_wristband(moved.wristband_id) == moved
    assert reader.resident("nobody") is None
    assert reader.residents(["other-unit"]) == []
    nurse = reader.user_by_username("nurse.test")
    assert nurse is not None
    assert reader.user(nurse.user_id) == nurse
    cna = reader.user(ids["user_id"])
    assert cna is not None
    assert not cna.active
    assert cna not in reader.users()
    assert cna in reader.users(include_inactive=True)


def test_order_states(store: LocalStore, fake_clock: FakeClock) -> None:
    ids = mixed_history(store.ledger)
    reader = store.reader()
    r0, r1, _ = ids["resident_ids"]
    o0, o1, _ = ids["order_ids"]
    held = reader.order(o0)
    assert held is not None
    assert [(h.start, h.end) for h in held.holds] == [
        (T0 + timedelta(hours=2), T0 + timedelta(hours=6))
    ]
    assert held.status == OrderStatus.ACTIVE  # clock at T0: hold not yet begun
    fake_clock.set(T0 + timedelta(hours=3))
    assert reader.order(o0).status == OrderStatus.HELD  # type: ignore[union-attr]
    replaced = reader.order(o1)
    assert replaced is not None
    assert replaced.discontinued_at == T0 + timedelta(hours=3)
    assert replaced.replaced_by == ids["replacement"]
    assert replaced.status == OrderStatus.DISCONTINUED
    current = [s.order_id for s in reader.orders([r1])]
    assert o1 not in current
    assert ids["replacement"] in current
    assert o1 in [s.order_id for s in reader.orders([r1], include_discontinued=True)]
    assert [s.order.drug for s in reader.orders([r0])] == ["Acetaminophen", "Metoprolol tartrate"]
    assert reader.order("missing") is None
    # one order read alone (one statement) equals it read with its resident's others
    everyone = [r.resident_id for r in reader.residents()]
    states = reader.orders(everyone, include_discontinued=True)
    assert any(not (s.holds or s.discontinued_at) for s in states)  # some have no events
    for state in states:
        assert reader.order(state.order_id) == state


def test_administration_records(store: LocalStore) -> None:
    ids = mixed_history(store.ledger)
    reader = store.reader()
    records = reader.administrations(since=T0 - DAY, until=T0 + DAY)
    by_id = {r.entry_id: r for r in records}
    assert set(by_id) == {ids["given"], ids["refused"], ids["prn"], ids["voided"]}
    assert [r.administered_at for r in records] == sorted(r.administered_at for r in records)
    given = by_id[ids["given"]]
    assert given.outcome == Outcome.GIVEN
    assert given.dose_given == Decimal("1")
    assert given.counts_as_given
    assert [a.text for a in given.amendments] == ["resident tolerated well", "BP 128/80 after dose"]
    assert given.current_note == "BP 128/80 after dose"
    voided = by_id[ids["voided"]]
    assert voided.voided
    assert voided.void_reason == "charted on wrong resident"
    assert voided.voided_by == f.NURSE.user_id
    assert not voided.counts_as_given
    refused = by_id[ids["refused"]]
    assert (refused.reason_code, refused.reason_text) == ("R", "declined")
    prn = by_id[ids["prn"]]
    assert prn.followup_due_at == prn.administered_at + timedelta(minutes=45)  # facility setting
    assert prn.followup_done_at == T0 + timedelta(hours=2)
    assert prn.followup_result == "effective"
    assert given.followup_due_at is None  # scheduled, not PRN
    assert reader.administration(ids["prn"]) == prn
    assert reader.administration("missing") is None


def test_administration_filters_and_windows(store: LocalStore) -> None:
    ids = mixed_history(store.ledger)
    reader = store.reader()
    r0 = ids["resident_ids"][0]
    mine = reader.administrations(since=T0 - DAY, until=T0 + DAY, resident_ids=[r0])
    assert {r.entry_id for r in mine} == {ids["given"], ids["prn"]}
    prn_only = reader.administrations(
        since=T0 - DAY, until=T0 + DAY, order_ids=[ids["prn_order_ids"][0]]
    )
    assert [r.entry_id for r in prn_only] == [ids["prn"]]
    both = reader.administrations(
        since=T0 - DAY, until=T0 + DAY, resident_ids=[r0], order_ids=[ids["order_ids"][0]]
    )
    assert [r.entry_id for r in both] == [ids["given"]]
    several = reader.administrations(  # sets of more than one go through json_each
        since=T0 - DAY,
        until=T0 + DAY,
        resident_ids=[r0, ids["resident_ids"][1]],
        order_ids=[ids["order_ids"][0], ids["prn_order_ids"][0]],
    )
    assert {r.entry_id for r in several} == {ids["given"], ids["prn"]}
    # half-open window: [T0, T0 + 1h) holds the scheduled doses but not the PRN given at T0+1h
    window = reader.administrations(since=T0, until=T0 + timedelta(hours=1))
    assert ids["prn"] not in {r.entry_id for r in window}
    assert ids["given"] in {r.entry_id for r in window}
    # a late dose is found by its scheduled time too
    late = store.ledger.append(
        [
            f.administration(
                r0,
                ids["order_ids"][0],
                scheduled_for=T0 + DAY,
                administered_at=T0 + DAY + timedelta(hours=3),
                outside_window_reason="resident at dialysis",
            )
        ]
    )[0]
    by_schedule = reader.administrations(since=T0 + DAY, until=T0 + DAY + timedelta(hours=1))
    assert [r.entry_id for r in by_schedule] == [late.id]
    assert by_schedule[0].outside_window_reason == "resident at dialysis"


def test_prn_followup_uses_the_order_interval_when_set(store: LocalStore) -> None:
    drafts, ids = f.small_facility(1)
    store.ledger.append(drafts)
    r0 = ids["resident_ids"][0]
    order = f.order_model(r0, prn=True, drug="Oxycodone", prn_followup_minutes=30)
    store.ledger.append([f.draft(kinds.ORDER_CREATED, kinds.OrderCreated(order=order))])
    [dose] = store.ledger.append([f.administration(r0, order.order_id, scheduled_for=None)])
    record = store.reader().administration(dose.id)
    assert record is not None
    assert record.followup_due_at == T0 + timedelta(minutes=30)
    assert record.followup_done_at is None


def test_alerts(store: LocalStore) -> None:
    ids = mixed_history(store.ledger)
    reader = store.reader()
    open_alerts = reader.alerts()
    assert [a.alert_id for a in open_alerts] == ["alert-2"]
    every = {a.alert_id: a for a in reader.alerts(open_only=False)}
    acked = every["alert-1"]
    assert acked.acknowledged_by == f.ADMIN.user_id
    assert acked.ack_comment == "checked with resident"
    assert acked.related_entry_ids == (ids["given"],)


def test_readers_see_new_appends_and_are_per_thread(store: LocalStore, tmp_path: Path) -> None:
    import threading

    reader = store.reader()
    assert reader.facility() is None
    store.ledger.append([f.facility()])
    assert reader.facility() is not None
    assert store.reader() is reader
    seen: list[object] = []
    thread = threading.Thread(target=lambda: seen.append(store.reader()))
    thread.start()
    thread.join()
    assert seen[0] is not reader


def test_void_arriving_before_its_administration(
    store: LocalStore, tmp_path: Path, db_key: bytes
) -> None:
    other = LocalStore.create(tmp_path / "other", db_key, "fac-1", FakeClock())
    drafts, ids = f.small_facility(1)
    setup = other.ledger.append(drafts)
    [dose] = other.ledger.append([f.administration(ids["resident_ids"][0], ids["order_ids"][0])])
    [void] = other.ledger.append([f.void(dose.id)])
    other.close()
    store.ledger.ingest([void])
    store.ledger.ingest([*setup, dose])
    record = store.reader().administration(dose.id)
    assert record is not None
    assert record.voided


def test_a_record_read_before_its_void_shows_the_void_afterwards(store: LocalStore) -> None:
    drafts, ids = f.small_facility(1)
    store.ledger.append(drafts)
    [dose] = store.ledger.append([f.administration(ids["resident_ids"][0], ids["order_ids"][0])])
    reader = store.reader()
    window = {"since": T0 - DAY, "until": T0 + DAY}
    assert not reader.administrations(**window)[0].voided
    assert reader.administrations(**window)[0] is reader.administrations(**window)[0]  # cached
    store.ledger.append([f.void(dose.id), f.amend(dose.id, "late entry")])
    [after] = reader.administrations(**window)
    assert after.voided
    assert after.current_note == "late entry"


def test_every_administrations_query_searches_an_index(tmp_path: Path, db_key: bytes) -> None:
    """No scope (one, residents, orders, both, all) reads the whole administrations table: with a
    year of doses a scan would cost tens of ms on every record and every screen. The part for
    doses far from their slot searches the index that holds only those (not all of a resident's
    doses); the others search by time given."""
    from storage.database import connect
    from storage.migrate import migrate
    from storage.read_model_sql import ADMIN_IN_RANGE, ADMIN_QUERIES

    conn = connect(tmp_path / "plan.db", db_key, create=True)
    try:
        migrate(conn)
        params = {
            "since": "a", "until": "b", "near_since": "a", "near_until": "b", "residents": "[]",
            "orders": "[]", "resident": "r", "order": "o",
        }

        def searches(sql: str) -> list[str]:
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            return [step for step in plan if step.startswith(("SEARCH a ", "SCAN a"))]

        for mode, queries in ADMIN_QUERIES.items():
            for sql in (*queries, ADMIN_IN_RANGE[mode]):
                found = searches(sql)
                assert found and all(s.startswith("SEARCH a USING INDEX") for s in found), (
                    mode, found)
            *by_time, far = queries
            for sql in by_time:
                assert searches(sql) == [
                    "SEARCH a USING INDEX administrations_by_resident "
                    "(resident_id=? AND administered_at>? AND administered_at<?)"
                ], mode
            assert searches(far) == [
                "SEARCH a USING INDEX administrations_far_from_schedule "
                "(resident_id=? AND scheduled_for>? AND scheduled_for<?)"
            ], mode
    finally:
        conn.close()


def test_a_record_by_id_is_found_through_the_ledger_row_it_is_keyed_by(
    tmp_path: Path, db_key: bytes
) -> None:
    """ADMIN_BY_ID (amend, void, follow-up) reads one row by primary key, found with the
    ledger's index on ``id``: no scan, and no index of its own to write with every dose."""
    from storage.database import connect
    from storage.migrate import migrate
    from storage.read_model_sql import ADMIN_BY_ID

    conn = connect(tmp_path / "plan.db", db_key, create=True)
    try:
        migrate(conn)
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + ADMIN_BY_ID, ("x",))]
        searches = [step for step in plan if step.startswith(("SEARCH a ", "SCAN a"))]
        assert searches == ["SEARCH a USING INTEGER PRIMARY KEY (rowid=?)"], plan
        assert any("ledger USING COVERING INDEX sqlite_autoindex_ledger_1" in s for s in plan)
    finally:
        conn.close()


def test_a_projection_row_must_name_its_ledger_entry_row(store: LocalStore) -> None:
    """The database refuses an administration keyed to no ledger row, to another entry's row,
    or re-keyed later: the link the by-id read relies on cannot silently break."""
    drafts, ids = f.small_facility(1)
    store.ledger.append(drafts)
    given = store.ledger.append(
        [f.administration(ids["resident_ids"][0], ids["order_ids"][0], scheduled_for=T0)]
    )[0]
    conn = store.connect_reader()
    try:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(administrations)")]
        row = dict(
            zip(columns, conn.execute("SELECT * FROM administrations").fetchone(), strict=True)
        )
        other = conn.execute("SELECT rowid FROM ledger WHERE id != ?", (given.id,)).fetchone()[0]
        marks = ", ".join("?" * len(columns))
        conn.execute("BEGIN IMMEDIATE")
        for rowid, entry_id in ((None, "new-id"), (other, "new-id"), (other, given.id)):
            values = {**row, "ledger_rowid": rowid, "entry_id": entry_id}
            with pytest.raises(sqlcipher3.IntegrityError, match="ledger entry's row"):
                conn.execute(f"INSERT INTO administrations VALUES ({marks})", list(values.values()))
        with pytest.raises(sqlcipher3.IntegrityError, match="never changes"):
            conn.execute("UPDATE administrations SET ledger_rowid = ?", (other,))
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    assert store.reader().administration(given.id) is not None


def test_records_read_before_a_later_entry_show_it_on_the_next_read(store: LocalStore) -> None:
    """Untouched records are served from the model cache; a void, amendment or follow-up
    written after a read, or a new default follow-up time, must show on the next read."""
    drafts, ids = f.small_facility(3)
    store.ledger.append(drafts)
    r0 = ids["resident_ids"][0]
    given = store.ledger.append([f.administration(r0, ids["order_ids"][0], scheduled_for=T0)])[0]
    prn = store.ledger.append(
        [
            f.administration(
                r0,
                ids["prn_order_ids"][0],
                scheduled_for=None,
                administered_at=T0 + timedelta(hours=1),
                prn_reason="headache",
                pain_score=6,
            )
        ]
    )[0]
    reader = store.reader()

    def read() -> dict[str, AdministrationRecord]:
        records = reader.administrations(since=T0 - DAY, until=T0 + DAY, resident_ids=[r0])
        return {r.entry_id: r for r in records}

    before = read()
    assert not before[given.id].voided and before[given.id].amendments == ()
    first_due = before[prn.id].followup_due_at
    assert first_due is not None and before[prn.id].followup_done_at is None
    assert read() == before  # served again from the cache, unchanged

    store.ledger.append([f.amend(given.id, "tolerated well")])
    assert [a.text for a in read()[given.id].amendments] == ["tolerated well"]
    store.ledger.append([f.void(given.id)])
    assert read()[given.id].voided
    store.ledger.append([f.settings_changed(prn_followup_minutes=90)])
    assert read()[prn.id].followup_due_at == T0 + timedelta(hours=1, minutes=90)
    store.ledger.append([f.followup(prn.id, T0 + timedelta(hours=2))])
    assert read()[prn.id].followup_done_at == T0 + timedelta(hours=2)

