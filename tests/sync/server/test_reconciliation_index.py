"""The server's reconciliation index after pushes: double doses are judged across devices only,
and a device's many doses of one scheduled slot cost (and alert) nothing."""

from __future__ import annotations

import threading
import time

import pytest

from mar_desktop import kinds
from mar_desktop.envelope import parse_raw
from sync.server.reconcile_live import LiveReconciliation
from sync.server.reconciliation import Reconciler
from sync.server.simtablet import SimTablet, administration_body
from tests.sync.server.conftest import Server


def _reconciler(server: Server) -> Reconciler:
    reconciler = server.client.app.state.reconciler  # type: ignore[attr-defined]
    assert isinstance(reconciler, Reconciler)
    return reconciler


def _wait_rebuild() -> None:
    """The first push of a facility rebuilds the index on a background thread."""
    deadline = time.monotonic() + 30
    while any(t.name == "mar-reconcile" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the index rebuild did not finish"
        time.sleep(0.01)


def _doubles(server: Server, reader: SimTablet) -> list[set[str]]:
    """The entry ids each ``double_dose`` alert names, read like a tablet does (``/v1/alerts``
    waits for the reconciliation of the pushes before it)."""
    out = []
    for info in reader.get("/v1/alerts").json()["alerts"]:
        if info["alert_type"] == "double_dose":
            body = kinds.AlertRaised.model_validate(parse_raw(info["entry"].encode()).body)
            out.append(set(body.related_entry_ids))
    return out


def test_one_device_repeating_a_slot_raises_no_double_dose_but_another_device_does(
    server: Server,
) -> None:
    a, b = server.tablet(label="cart-a"), server.tablet(label="cart-b")
    body = administration_body(0)  # the same order and scheduled_for every time
    assert a.push([a.seal(body=body)]).status_code == 200
    _wait_rebuild()
    same_device = [a.seal(body=body) for _ in range(40)]
    assert a.push(same_device).status_code == 200
    assert _reconciler(server).after_push(server.facility_id) == 0
    assert _doubles(server, a) == []

    other = b.seal(body=body)
    assert b.push([other]).status_code == 200
    doubles = _doubles(server, a)
    assert len(doubles) == 1
    assert doubles[0] == {e.id for e in a.entries} | {other.id}
    # nothing new to look at: no second alert
    assert _reconciler(server).after_push(server.facility_id) == 0
    assert len(_doubles(server, a)) == 1


def test_unwatched_kinds_are_skipped_and_the_index_moves_past_them(server: Server) -> None:
    a = server.tablet()
    assert a.push([a.seal()]).status_code == 200
    _wait_rebuild()
    audit = a.make(3, "audit.resident_viewed")
    amended = a.seal(kinds.NOTE_AMENDED, _note_amended(a.entries[0].id))
    assert a.push([*audit, amended]).status_code == 200
    index = _reconciler(server)._indexes[server.facility_id]
    feed = server.store.feed(server.facility_id, "ledger", 0, 1000)
    assert index.pos >= next(e.pos for e in feed if e.entry_id == amended.id)


def _note_amended(target: str) -> dict[str, object]:
    return kinds.body_json(kinds.NoteAmended(target_entry_id=target, text="checked again"))


def test_alerts_are_readable_right_after_the_push_receipt_even_before_the_background_run(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = server.tablet(label="cart-a"), server.tablet(label="cart-b")
    assert a.push([a.seal()]).status_code == 200
    _wait_rebuild()
    # the post-receipt task has not run (yet, or ever: the client hung up): the read barrier
    # of /v1/alerts and /v1/feed does the catch-up itself
    monkeypatch.setattr(LiveReconciliation, "run", lambda *_args: None)
    body = administration_body(3)
    for _ in range(5):  # each read right after a push sees that push's alert
        dose_a, dose_b = a.seal(body=body), b.seal(body=body)
        assert a.push([dose_a]).status_code == 200
        assert b.push([dose_b]).status_code == 200
        assert {dose_a.id, dose_b.id} <= set().union(*_doubles(server, b))
        feed = b.get("/v1/feed", after=0, limit=1000).json()["items"]
        assert sum('"alert_type":"double_dose"' in i["entry"] for i in feed) == len(
            _doubles(server, b)
        )


def test_a_failing_reconciliation_never_fails_the_push_or_blocks_reads(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = server.tablet(label="cart-a"), server.tablet(label="cart-b")
    assert a.push([a.seal()]).status_code == 200
    _wait_rebuild()

    def broken(*_args: object) -> int:
        raise ValueError("simulated failure")

    body = administration_body(5)
    with monkeypatch.context() as m:
        m.setattr(Reconciler, "_catch_up", broken)
        assert a.push([a.seal(body=body)]).status_code == 200
        assert b.push([b.seal(body=body)]).status_code == 200
        assert _doubles(server, a) == []  # answered, without the alert it could not raise
    # the next push retries from the same feed position: the alert is raised then
    assert a.push([a.seal()]).status_code == 200
    assert len(_doubles(server, a)) == 1


@pytest.mark.parametrize("shortcut", [True, False])
def test_pushed_doses_are_judged_alike_with_or_without_the_checked_bodies(
    server: Server, monkeypatch: pytest.MonkeyPatch, shortcut: bool
) -> None:
    """A push hands reconciliation what its check read from the administration bodies (so
    they are not parsed twice); without that the feed is parsed: same alerts either way."""
    if not shortcut:
        monkeypatch.setattr(Reconciler, "remember_checked", lambda *_args: None)
    a, b = server.tablet(label="cart-a"), server.tablet(label="cart-b")
    assert a.push([a.seal()]).status_code == 200
    _wait_rebuild()
    body = administration_body(9)
    doses = [a.seal(body=body), b.seal(body=body)]
    assert a.push([doses[0]]).status_code == 200
    assert b.push([doses[1]]).status_code == 200
    assert _doubles(server, a) == [{d.id for d in doses}]
    assert _reconciler(server)._checked == {}  # taken once, nothing left behind


@pytest.mark.parametrize("pre_read", [True, False])
def test_a_void_pushed_among_checked_doses_is_still_read_and_folded(
    server: Server, monkeypatch: pytest.MonkeyPatch, pre_read: bool
) -> None:
    """The catch-up reads a page without the entries' bytes while pushes left checked doses to
    take; a watched entry in that page (here a void) must still be read whole and folded: the
    voided dose then makes no double dose with another device's dose of the same slot. Without
    the page's read of such entries (a checked body dropped from the bounded cache after the
    page was read), the entry is read on its own."""
    if not pre_read:
        page = Reconciler._page
        monkeypatch.setattr(Reconciler, "_page", lambda self, *args: (page(self, *args)[0], {}))
    a, b = server.tablet(label="cart-a"), server.tablet(label="cart-b")
    assert a.push([a.seal()]).status_code == 200
    _wait_rebuild()
    body = administration_body(11)
    first = a.seal(body=body)
    assert a.push([first]).status_code == 200
    void = kinds.body_json(kinds.EntryVoided(target_entry_id=first.id, reason="wrong resident"))
    again = [b.seal(kinds.ENTRY_VOIDED, void), b.seal(body=body)]
    assert b.push(again).status_code == 200
    assert _doubles(server, a) == []
    assert first.id in _reconciler(server)._indexes[server.facility_id].voided


def test_a_push_of_checked_doses_is_reconciled_without_reading_their_bytes(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = server.tablet()
    assert a.push([a.seal()]).status_code == 200
    _wait_rebuild()
    whole_reads: list[int] = []
    feed = server.store.feed

    def counting_feed(*args: object) -> object:
        whole_reads.append(1)
        return feed(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(server.store, "feed", counting_feed)
    doses = a.make(50)
    assert a.push(doses).status_code == 200
    assert a.get("/v1/alerts").status_code == 200  # waits for the push's reconciliation
    heads = server.store.feed_heads(server.facility_id, "ledger", 0, 1000)
    last = next(h.pos for h in heads if h.entry_id == doses[-1].id)
    assert _reconciler(server)._indexes[server.facility_id].pos >= last
    assert whole_reads == []
    assert _reconciler(server)._checked == {}


def test_an_entry_read_on_its_own_is_the_one_at_that_position_or_refused(server: Server) -> None:
    a = server.tablet()
    dose = a.seal()
    assert a.push([dose]).status_code == 200
    _wait_rebuild()
    heads = server.store.feed_heads(server.facility_id, "ledger", 0, 1000)
    pos = next(h.pos for h in heads if h.entry_id == dose.id)
    reconciler = _reconciler(server)
    assert reconciler._entry_at(server.facility_id, pos).raw == dose.raw
    with pytest.raises(ValueError, match="is not stored"):
        reconciler._entry_at(server.facility_id, heads[-1].pos + 1)
