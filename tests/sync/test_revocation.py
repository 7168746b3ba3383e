"""Lost and retired tablets, end to end over real TLS: the server's signed revocation is obeyed
(everyone signed out, what the tablet holds handed over when it is retired, the database key
crypto-erased), unacknowledged doses are never erased on retire, a forged or foreign revocation
erases nothing, and an older tablet that cannot read revocations keeps its records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
import trustme

from mar_desktop import kinds
from mar_desktop.envelope import SYSTEM_ACTOR, EntryDraft, seal
from mar_desktop.errors import DeviceRevoked, OfflineLimitReached, SyncError
from mar_desktop.people.auth import AuthService
from mar_desktop.people.offline import OfflineState
from mar_desktop.people.sessions import SessionManager
from mar_desktop.services.reference import ReferenceService
from mar_desktop.signing import DeviceSigner
from storage.credentials import SqlCredentialStore
from storage.database import database_path
from storage.erase import MARKER, Eraser, erased_note
from storage.keystore import SERVICE, KeyStore, key_name_for
from storage.local_store import LocalStore
from storage.sync_state import ServerInfo
from sync.client import ServerClient
from sync.engine import SyncEngine, default_client
from sync.revocation import checked_revocation
from sync.server import audit as server_audit
from tests.facility import NOW
from tests.keyrings import SecureMemoryKeyring
from tests.sync.conftest import Site, start_site, stop_site
from tests.sync.test_recovery import _give_all
from tests.sync.world import Cart, cart, ledger_rows, plain_orders, seed, server_rows


@pytest.fixture
def clocked(tmp_path: Path, cert_files: Path, ca: trustme.CA) -> Iterator[Site]:
    from mar_desktop.clock import FakeClock

    built = start_site(tmp_path, str(tmp_path / "server.sqlite3"), cert_files, ca, FakeClock(NOW))
    yield built
    stop_site(built)


def _with_key_store(c: Cart, client_maker: object = default_client) -> KeyStore:
    """Puts the tablet's key in a (memory) key store and gives its engine an eraser over it."""
    backend = SecureMemoryKeyring()
    backend.set_password(SERVICE, key_name_for(c.tab.data_dir), c.tab.key.hex())
    keys = KeyStore(c.tab.data_dir, backend=backend)
    c.tab.engine.close()
    c.tab.engine = SyncEngine(
        c.tab.store,
        clock=c.clock,
        interval=3600,
        compare_clocks=False,  # a test clock against the site's real one
        eraser=Eraser(c.tab.data_dir, keys),
        client_maker=client_maker,  # type: ignore[arg-type]
    )
    return keys


def _signed_in(c: Cart, seeded: object, username: str = "nurse") -> SessionManager:
    staff = next(s for s in seeded.staff if s.user.username == username)  # type: ignore[attr-defined]
    sessions = SessionManager(c.clock, c.tab.store.device_id, offline=c.tab.engine.offline)
    sessions.start(staff.user)
    return sessions


def _erased(c: Cart, keys: KeyStore, mode: str) -> None:
    assert not keys.has_key()  # the key is gone: every copy of the file is unreadable
    assert not database_path(c.tab.data_dir).exists()  # removed too (where the OS allows)
    note = erased_note(c.tab.data_dir)
    assert note is not None and note.mode == mode and note.device_id == c.tab.store.device_id
    assert (c.tab.data_dir / MARKER).stat().st_mode & 0o077 == 0
    with pytest.raises(Exception):
        LocalStore.open(c.tab.data_dir, keys)


def _audit(site: Site, action: str) -> list[server_audit.AuditRow]:
    rows = site.core.store.audit_rows(site.facility_id, None, None, 10_000)
    return [r for r in rows if r.action == action]


def test_a_lost_tablet_is_refused_signs_everyone_out_and_crypto_erases(clocked: Site) -> None:
    site = clocked
    a = cart(site, "cart-a")
    seeded = seed(a)
    a.tab.engine.sync_once()
    keys = _with_key_store(a)
    sessions = _signed_in(a, seeded)
    device = a.tab.store.device_id
    held = [r for r in server_rows(site, "ledger") if r[0] == device]

    site.core.revoke(device, "lost", address="cli:admin", reason="stolen from the cart bay")
    _give_all(a, seeded, plain_orders(seeded, 1)[0], [a], a.clock)  # recorded after: refused
    with pytest.raises(DeviceRevoked, match="erased"):
        a.tab.engine.sync_once()

    # the server stored nothing more of the lost tablet
    assert [r for r in server_rows(site, "ledger") if r[0] == device] == held
    assert sessions.current is None  # everyone signed out at the next tick
    assert a.tab.engine.offline.status().state is OfflineState.REVOKED
    assert a.tab.engine.status.current.state == "erased"
    _erased(a, keys, "lost")
    [revoked] = _audit(site, server_audit.REVOKED)
    assert revoked.address == "cli:admin" and "stolen" in revoked.detail
    assert all(r.address == "127.0.0.1" for r in _audit(site, server_audit.REVOKED_CONTACT))
    assert _audit(site, server_audit.REVOKED_CONTACT)


def test_a_retired_tablet_hands_over_everything_then_erases(clocked: Site) -> None:
    site = clocked
    a = cart(site, "cart-a")
    seeded = seed(a)
    a.tab.engine.sync_once()
    keys = _with_key_store(a)
    device = a.tab.store.device_id
    for pair in plain_orders(seeded, 2):  # recorded offline, not yet sent
        _give_all(a, seeded, pair, [a], a.clock)
    assert a.tab.engine.pending() > 0
    local = {c: a.tab.engine.state.head(device, c)[0] for c in ("ledger", "audit")}

    site.core.revoke(device, "retire", address="cli:admin")
    with pytest.raises(DeviceRevoked, match="erased"):
        a.tab.engine.sync_once()

    record = site.core.store.get_device(device)
    assert record is not None and record.retired_at is not None
    heads = site.core.store.heads(device)
    # every dose reached the server, and so did the tablet's own account of the revocation
    assert heads["ledger"].seq == local["ledger"]
    assert heads["audit"].seq > local["audit"]
    kinds_held = {e.kind for e in site.core.store.entries_of(device, "audit")}
    assert "audit.device_revoked" in kinds_held
    _erased(a, keys, "retire")
    assert _audit(site, server_audit.RETIRED)
    # once retired it is refused like a lost one
    assert record.refused


class _PushFails(ServerClient):
    """A client whose pushes break off once it was told of the revocation (the network
    failing during the hand-over, after the sync's ordinary push went through)."""

    told = False

    def devices(self) -> object:  # type: ignore[override]
        try:
            return super().devices()
        except DeviceRevoked:
            self.told = True
            raise

    def push(self, raws: list[bytes]) -> tuple[int, object]:  # type: ignore[override]
        if self.told:
            raise SyncError("The connection to the server broke off.")
        return super().push(raws)


def test_retire_never_erases_unacknowledged_doses(clocked: Site) -> None:
    site = clocked
    a = cart(site, "cart-a")
    seeded = seed(a)
    a.tab.engine.sync_once()
    failing = True

    def maker(info: ServerInfo) -> ServerClient:
        kind = _PushFails if failing else ServerClient
        return kind(info.url, ca_pem=info.ca_pem, pin=info.pin)

    keys = _with_key_store(a, maker)
    sessions = _signed_in(a, seeded)
    _give_all(a, seeded, plain_orders(seeded, 1)[0], [a], a.clock)
    site.core.revoke(a.tab.store.device_id, "retire")

    with pytest.raises(DeviceRevoked, match="nothing was erased"):
        a.tab.engine.sync_once()
    assert keys.has_key() and erased_note(a.tab.data_dir) is None
    assert a.tab.engine.pending() > 0
    assert sessions.current is None  # signed out all the same
    # no one signs in on it any more, even while it still holds its data
    auth = AuthService(
        a.ports, SqlCredentialStore(a.tab.store.connect_reader, a.clock), sessions
    )
    with pytest.raises(OfflineLimitReached) as refused:
        auth.begin_login("nurse", "whatever-the-password")
    assert not refused.value.break_glass
    device = site.core.store.get_device(a.tab.store.device_id)
    assert device is not None and device.retiring  # not confirmed

    failing = False  # the network is back: it hands over, confirms, erases
    with pytest.raises(DeviceRevoked, match="erased"):
        a.tab.engine.sync_once()
    _erased(a, keys, "retire")


def test_a_forged_or_foreign_revocation_is_not_obeyed(clocked: Site) -> None:
    site = clocked
    a = cart(site, "cart-a")
    seed(a)
    b = cart(site, "cart-b")
    b.tab.engine.sync_once()
    info = a.tab.engine.state.server()
    assert info is not None
    store = a.tab.store
    genuine = site.core.revoke(b.tab.store.device_id, "lost")  # another tablet's
    assert checked_revocation(genuine.raw, info, b.tab.store.device_id, store.facility_id)
    assert checked_revocation(genuine.raw, info, store.device_id, store.facility_id) is None

    body = kinds.body_json(kinds.DeviceRevoked(device_id=store.device_id, mode="lost"))
    forged = seal(
        EntryDraft(kinds.DEVICE_REVOKED, SYSTEM_ACTOR, body),
        facility_id=store.facility_id,
        device_id=info.server_device_id,
        seq=99,
        prev="0" * 64,
        recorded_at=NOW,
        signer=DeviceSigner.generate(),  # not the server key
    )
    assert checked_revocation(forged.raw, info, store.device_id, store.facility_id) is None
    assert checked_revocation(b"not json", info, store.device_id, store.facility_id) is None
    assert checked_revocation(None, info, store.device_id, store.facility_id) is None


def test_an_older_tablet_that_cannot_read_revocations_keeps_its_records(
    clocked: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tablet of the release before: a refusal is only "cannot sync"; retiring, its pushes
    still arrive (the server accepts them until a confirmation that never comes)."""
    site = clocked
    a = cart(site, "cart-a")
    seeded = seed(a)
    a.tab.engine.sync_once()
    keys = _with_key_store(a)
    monkeypatch.setattr("sync.revocation.checked_revocation", lambda *_: None)
    _give_all(a, seeded, plain_orders(seeded, 1)[0], [a], a.clock)
    local = a.tab.engine.state.head(a.tab.store.device_id, "ledger")[0]
    site.core.revoke(a.tab.store.device_id, "retire")
    with pytest.raises(DeviceRevoked):
        a.tab.engine.sync_once()
    assert site.core.store.heads(a.tab.store.device_id)["ledger"].seq == local
    assert keys.has_key() and erased_note(a.tab.data_dir) is None
    device = site.core.store.get_device(a.tab.store.device_id)
    assert device is not None and device.retiring


class _SettingsChangedV2(kinds.Body):
    """``facility.settings_changed`` as the release before the offline limit knew it."""

    v: Literal[1, 2] = 2  # type: ignore[assignment]
    before: dict[str, object]
    after: dict[str, object]


def test_an_older_tablet_keeps_the_new_setting_and_revocation_entries_unapplied(
    clocked: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = clocked
    newer = cart(site, "newer")
    seeded = seed(newer)
    newer.tab.engine.sync_once()
    older = cart(site, "older")
    older.tab.engine.sync_once()
    other = cart(site, "other")
    other.tab.engine.sync_once()

    admin = newer.principal(seeded, "admin")
    facility = newer.tab.store.reader().facility()
    assert facility is not None
    settings = facility.settings.model_copy(update={"offline_signin_hours": 24})
    changed = ReferenceService(newer.ports).change_settings(admin, settings)
    assert changed.body["v"] == 4
    revoked = site.core.revoke(other.tab.store.device_id, "lost")
    newer.tab.engine.sync_once()
    assert newer.tab.store.reader().facility().settings.offline_signin_hours == 24  # type: ignore[union-attr]

    monkeypatch.delitem(kinds.BODY_TYPES, kinds.DEVICE_REVOKED)  # the older release's kinds
    monkeypatch.setitem(kinds.BODY_TYPES, kinds.SETTINGS_CHANGED, _SettingsChangedV2)
    report = older.tab.engine.sync_once()
    assert report.newer == 2 and report.quarantined == 0 and not report.held_back
    held = {row[2] for row in ledger_rows(older.tab)}
    assert changed.digest in held and revoked.digest in held  # kept and chain-verified
    kept = older.tab.store.reader().facility()
    assert kept is not None and kept.settings.offline_signin_hours == 72  # not applied
