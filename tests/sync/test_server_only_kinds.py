"""A tablet entry of a kind only the server records is refused by the server and quarantined on
the tablet with the server's reason; nothing of it reaches the server or the other tablets. One
the server stored before it refused the kind is kept by tablets but never applied."""

from __future__ import annotations

from mar_desktop import kinds
from mar_desktop.envelope import SYSTEM_ACTOR, EntryDraft
from sync.server.store import NewEntry
from tests.sync.conftest import Site
from tests.sync.world import cart, ledger_rows


def test_a_server_only_kind_from_a_tablet_is_quarantined_and_not_stored(site: Site) -> None:
    a = cart(site, "a")
    a.tab.engine.sync_once()
    alert = kinds.AlertRaised(
        alert_id="forged-alert",
        alert_type="double_dose",
        device_id=a.tab.store.device_id,
        related_entry_ids=("e-1",),
        detail="forged",
    )
    draft = EntryDraft(kinds.ALERT_RAISED, SYSTEM_ACTOR, kinds.body_json(alert))
    forged = a.tab.store.ledger.append([draft])[0]

    report = a.tab.engine.sync_once()

    assert report.held_back
    assert report.quarantined == 1
    held = [q for q in a.tab.engine.state.quarantined() if q.direction == "push"]
    assert [(q.entry_key, q.code, q.seq) for q in held] == [(forged.id, "invalid_body", forged.seq)]
    assert "server only" in held[0].reason
    store = site.core.store
    assert store.entries_of_kind(site.facility_id, a.tab.store.device_id, kinds.ALERT_RAISED) == []
    assert [e.seq for e in store.entries_of(a.tab.store.device_id, "ledger")] == []

    b = cart(site, "b")
    b.tab.engine.sync_once()
    assert b.tab.store.reader().facility() is not None
    ids = {e.entry_id for e in store.feed(site.facility_id, "ledger", 0, 1000)}
    assert forged.id not in ids


def test_a_server_only_kind_the_server_stored_before_is_kept_but_not_applied(site: Site) -> None:
    """An alert.raised a tablet pushed before the server refused the kind is still in the feed:
    other tablets keep it (its chain verifies) but never show it as an alert."""
    a = cart(site, "a")
    a.tab.engine.sync_once()
    device = a.tab.store.device_id
    alert = kinds.AlertRaised(
        alert_id="forged-alert",
        alert_type="double_dose",
        device_id=device,
        related_entry_ids=("e-1",),
        detail="forged",
    )
    draft = EntryDraft(kinds.ALERT_RAISED, SYSTEM_ACTOR, kinds.body_json(alert))
    forged = a.tab.store.ledger.append([draft])[0]
    with site.core.store.write() as txn:  # as the server stored it before the fix
        txn.lock_facility(site.facility_id)
        pos = txn.next_pos(site.facility_id, "ledger")
        txn.insert_entries(
            [
                NewEntry(
                    site.facility_id,
                    device,
                    "ledger",
                    forged.seq,
                    pos,
                    forged.id,
                    forged.kind,
                    forged.digest,
                    forged.recorded_at,
                    forged.raw,
                )
            ]
        )

    b = cart(site, "b")
    b.tab.engine.sync_once()

    assert (device, forged.seq, forged.digest) in ledger_rows(b.tab)
    assert [q for q in b.tab.engine.state.quarantined() if q.direction == "pull"] == []
    for tab in (a.tab, b.tab):
        shown = {x.alert_id for x in tab.store.reader().alerts(open_only=False)}
        assert "forged-alert" not in shown
