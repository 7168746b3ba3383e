"""``administrations(since, until)`` finds exactly the records given or scheduled in the range.

The query is made of disjoint parts (storage/read_model_sql.py): given in the range; given
within 12 hours of a slot in the range (on the by-time index, widened); and given further from
a slot in the range (on migration 0008's index, which holds only such rows). A record missed
here is a dose the double-dose check and the MAR would not see, so every part's edge is tried
against the plain definition: around 12 hours from the slot, at the range's edges, to the
microsecond, in every filter mode.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from mar_desktop.model import Outcome
from storage.local_store import LocalStore
from storage.read_model_sql import NEAR_SLOT
from tests import factories as f

T0 = f.T0
HOUR = timedelta(hours=1)
MS = timedelta(milliseconds=1)
US = timedelta(microseconds=1)
MINUTE = timedelta(minutes=1)
# how far from its slot each dose was given: on time, late or early within the 12 hours, on
# either side of the 12 hours to the millisecond, and a late entry days later
OFFSETS = [
    timedelta(0), 5 * MINUTE, -40 * MINUTE, 3 * HOUR,
    12 * HOUR - MS, 12 * HOUR, 12 * HOUR + US, 12 * HOUR + MS, 12 * HOUR + MINUTE,
    -(12 * HOUR), -(12 * HOUR + MS), 13 * HOUR, -(13 * HOUR), 30 * HOUR, -(30 * HOUR),
    3 * 24 * HOUR, 12 * HOUR + MINUTE + MS,
]


def _history(store: LocalStore) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Two residents' doses of their scheduled order at every offset from slots three hours
    apart, some refused, plus PRN doses, stored; each a dict of its entry ``id``, ``resident``,
    ``order``, ``scheduled`` slot (None for PRN), ``given`` time and ``outcome``."""
    drafts, ids = f.small_facility(2)
    store.ledger.append(drafts)
    rng = random.Random(8)
    doses: list[dict[str, Any]] = []
    for number, resident in enumerate(ids["resident_ids"]):
        order, prn = ids["order_ids"][number], ids["prn_order_ids"][number]
        for index, offset in enumerate(OFFSETS):
            slot = T0 + index * 3 * HOUR + number * timedelta(minutes=7)
            outcome = Outcome.REFUSED if index % 5 == 4 else Outcome.GIVEN
            doses.append({"resident": resident, "order": order, "scheduled": slot,
                          "given": slot + offset, "outcome": outcome})
        for _ in range(8):
            moment = T0 + timedelta(seconds=rng.randrange(-86_400, 5 * 86_400))
            doses.append({"resident": resident, "order": prn, "scheduled": None,
                          "given": moment, "outcome": Outcome.GIVEN})
    entries = store.ledger.append([
        f.administration(d["resident"], d["order"], scheduled_for=d["scheduled"],
                         administered_at=d["given"], outcome=d["outcome"])
        for d in doses
    ])
    for dose, entry in zip(doses, entries, strict=True):
        dose["id"] = entry.id
    return doses, ids


def _expected(doses: list[dict[str, Any]], since: datetime, until: datetime,
              residents: list[str] | None, orders: list[str] | None) -> list[str]:
    def inside(moment: datetime | None) -> bool:
        return moment is not None and since <= moment < until

    return sorted(
        d["id"] for d in doses
        if (inside(d["given"]) or inside(d["scheduled"]))
        and (residents is None or d["resident"] in residents)
        and (orders is None or d["order"] in orders)
    )


def _windows(doses: list[dict[str, Any]]) -> list[tuple[datetime, datetime]]:
    """Ranges whose edges fall on, just before and just after doses' times and slots, and
    12 hours (± a millisecond) from them; of an hour, a day and three days; and random ones."""
    rng = random.Random(2)
    times = [d["given"] for d in doses] + [d["scheduled"] for d in doses if d["scheduled"]]
    windows = []
    for moment in rng.sample(times, 40):
        for nudge in (timedelta(0), US, -US, 12 * HOUR, -(12 * HOUR), 12 * HOUR + MS):
            edge = moment + nudge
            windows += [(edge, edge + HOUR), (edge - 24 * HOUR, edge), (edge, edge + 3 * 24 * HOUR)]
    for _ in range(60):
        since = T0 + timedelta(microseconds=rng.randrange(-2 * 86_400_000_000, 6 * 86_400_000_000))
        windows.append((since, since + timedelta(minutes=rng.randrange(1, 4 * 24 * 60))))
    return windows


def test_every_dose_given_or_scheduled_in_the_range_is_found_once(store: LocalStore) -> None:
    doses, ids = _history(store)
    reader = store.reader()
    r0, r1 = ids["resident_ids"]
    o0, p0 = ids["order_ids"][0], ids["prn_order_ids"][0]
    filters: list[tuple[list[str] | None, list[str] | None]] = [
        (None, None), ([r0], None), ([r0, r1], None), (None, [o0]), (None, [o0, p0]),
        ([r0], [o0]), ([r0], [p0]), ([r0, r1], [o0, p0]), ([r1], [o0]),
    ]
    checked = 0
    for since, until in _windows(doses):
        for residents, orders in filters:
            found = [r.entry_id for r in reader.administrations(
                since=since, until=until, resident_ids=residents, order_ids=orders)]
            assert sorted(found) == _expected(doses, since, until, residents, orders), (
                since, until, residents, orders)
            checked += bool(found)
    assert checked > 500  # the ranges are not all empty


def test_only_doses_far_from_their_slot_are_in_the_by_schedule_index(store: LocalStore) -> None:
    """A dose within 12 hours of its slot writes no by-schedule index entry, nor does a PRN dose
    (no slot); one a minute or more beyond the 12 hours does. (Between the two, julianday()'s
    millisecond rounding decides; the queries' minute of slack covers either answer.)"""
    doses, _ = _history(store)
    conn = store.connect_reader()
    try:
        # INDEXED BY fails unless the query's far condition is the index's: NEAR_SLOT is it
        indexed = {
            row[0] for row in conn.execute(
                "SELECT entry_id FROM administrations a "
                "INDEXED BY administrations_far_from_schedule "
                f"WHERE a.scheduled_for IS NOT NULL AND NOT {NEAR_SLOT} AND a.resident_id > ''"
            )
        }
    finally:
        conn.close()
    gaps = {d["id"]: None if d["scheduled"] is None else abs(d["given"] - d["scheduled"])
            for d in doses}
    near = {i for i, gap in gaps.items() if gap is None or gap <= 12 * HOUR}
    far = {i for i, gap in gaps.items() if gap is not None and gap >= 12 * HOUR + MINUTE}
    assert far <= indexed and not indexed & near
    assert 0 < len(far) < len(near)


def test_a_time_julianday_cannot_read_counts_as_far(store: LocalStore) -> None:
    """Never written (the ledger's one time format is utc_iso), but if it were: the row would be
    in the far index and found by its slot, not dropped by both kinds of part."""
    conn = store.connect_reader()
    try:
        def near(given: str | None, slot: str | None) -> int:
            row = conn.execute(
                f"SELECT {NEAR_SLOT} FROM (SELECT ? AS administered_at, ? AS scheduled_for) a",
                (given, slot),
            ).fetchone()
            return int(row[0])

        assert near("2026-01-05T08:00:00.000000Z", "2026-01-05T19:59:59.999000Z") == 1
        assert near("2026-01-05T08:00:00.000000Z", "2026-01-05T20:00:01.000000Z") == 0
        assert near("not a time", "2026-01-05T08:00:00.000000Z") == 0
        assert near("2026-01-05T08:00:00.000000Z", None) == 0
    finally:
        conn.close()
