"""Versions and rollout: a facility upgrades tablets one by one. An entry written by a newer
version (a kind this tablet does not know, or a body version above the one it knows) is stored
and chain-verified by an older tablet, never quarantined, and does not stop the entries after it
in that device's chain; once the tablet runs a version that knows it, opening the store applies
it. Real server, real TLS."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.kinds import Body
from mar_desktop.model import Id
from storage.local_store import LocalStore
from storage.migrate import REBUILDING
from storage.projections import NEWER_HELD
from storage.verify import verify_store
from tests.sync.conftest import start_site, stop_site
from tests.sync.world import cart, ledger_rows, next_slot, scheduled, seed

NEW_KIND = "order.cosigned"


class OrderCosigned(Body):
    """A kind from a later release."""

    order_id: Id


def _flag(store: LocalStore) -> str | None:
    conn = store.connect_reader()
    try:
        row = conn.execute("SELECT value FROM storage_flags WHERE name = ?", (NEWER_HELD,))
        found = row.fetchone()
    finally:
        conn.close()
    return None if found is None else str(found[0])


@pytest.mark.parametrize(
    ("kind", "body", "newer"),
    [
        ("administration.recorded", {"v": 2}, True),
        ("administration.recorded", {"v": 1}, False),
        ("administration.recorded", {}, False),
        ("administration.recorded", {"v": True}, False),
        ("administration.recorded", {"v": "2"}, False),
        ("order.cosigned", {"v": 1}, True),
        ("order.verified", {"v": 1}, False),
        ("order.verified", {"v": 2}, True),
        ("audit.something_new", {"v": 1}, False),
    ],
)
def test_what_counts_as_written_by_a_newer_version(
    kind: str, body: dict[str, object], newer: bool
) -> None:
    assert kinds.from_newer_version(kind, body) is newer


def test_an_older_tablet_keeps_a_newer_kind_verifies_it_and_applies_what_follows(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca)
    try:
        older = cart(site, "older")
        seeded = seed(older)
        older.tab.engine.sync_once()
        newer = cart(site, "newer")
        newer.tab.engine.sync_once()
        resident, order = scheduled(seeded)

        # The newer tablet (and the server, upgraded first) know a kind the older one does not.
        monkeypatch.setitem(kinds.BODY_TYPES, NEW_KIND, OrderCosigned)
        admin = newer.principal(seeded, "admin")
        [verified] = newer.tab.store.ledger.append(
            [kinds.draft(NEW_KIND, admin.actor, OrderCosigned(order_id=order.order_id))]
        )
        slot = next_slot(newer, order)
        for c in (older, newer):
            c.clock.set(slot)  # type: ignore[arg-type]
        dose = newer.give(seeded, order, resident, slot)
        assert newer.tab.engine.sync_once().pushed >= 2
        monkeypatch.delitem(kinds.BODY_TYPES, NEW_KIND)

        report = older.tab.engine.sync_once()
        assert report.newer == 1 and report.quarantined == 0 and not report.held_back
        assert any("newer version" in line for line in report.lines())
        held = {row[2] for row in ledger_rows(older.tab)}
        assert verified.digest in held and dose.digest in held
        assert older.tab.store.reader().administration(dose.id) is not None  # applied after it
        conn = older.tab.store.connect_reader()
        try:
            assert verify_store(conn).ok
        finally:
            conn.close()
        assert _flag(older.tab.store) is not None
        again = older.tab.engine.sync_once()  # nothing new: kept, not reported again
        assert again.newer == 0 and again.quarantined == 0

        # The older tablet is updated to a version that knows the kind: opening the store
        # re-applies the ledger, and nothing is held any more.
        data_dir, key = older.tab.data_dir, older.tab.key
        older.tab.close()
        site.tablets.remove(older.tab)
        monkeypatch.setitem(kinds.BODY_TYPES, NEW_KIND, OrderCosigned)
        monkeypatch.setattr("storage.migrate.__version__", "99.0.0")
        monkeypatch.setattr("storage.projections.__version__", "99.0.0")
        steps: list[str] = []
        upgraded = LocalStore.open(data_dir, key, older.clock, on_progress=steps.append)
        try:
            assert REBUILDING in steps
            assert _flag(upgraded) is None
            assert upgraded.reader().administration(dose.id) is not None
        finally:
            upgraded.close()
    finally:
        stop_site(site)


class _AlertRaisedBefore(Body):
    """``alert.raised`` as tablets before signed account records know it (v1 only)."""

    alert_id: Id
    alert_type: str
    device_id: Id | None = None
    detail: str = ""


def test_an_older_tablet_keeps_a_credential_refused_alert_unapplied_and_applies_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server writes ``credential_refused`` alerts as ``alert.raised`` v2 and every other
    alert as v1: an older tablet holds the new one as recorded by a newer version (kept,
    verified, not applied) and keeps applying clinical alerts."""
    new = kinds.body_json(
        kinds.AlertRaised(v=2, alert_id="a1", alert_type="credential_refused", detail="x")
    )
    old = kinds.body_json(kinds.AlertRaised(alert_id="a2", alert_type="fork", detail="y"))
    assert old["v"] == 1
    with pytest.raises(Exception, match="v2"):
        kinds.AlertRaised(v=1, alert_id="a3", alert_type="credential_refused")
    monkeypatch.setitem(kinds.BODY_TYPES, kinds.ALERT_RAISED, _AlertRaisedBefore)
    assert kinds.from_newer_version(kinds.ALERT_RAISED, new) is True
    assert kinds.from_newer_version(kinds.ALERT_RAISED, old) is False
