"""The offline limit: counted from the server's time of the last sync with a monotonic clock (so
setting the tablet's clock back never extends it), saved sparingly, the last day counted down;
past it sign-in needs audited break-glass, a running session ends, and a revoked tablet signs
no one in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mar_desktop.errors import OfflineLimitReached, PermissionDenied, SessionExpired
from mar_desktop.people.auth import LoginStep
from mar_desktop.people.offline import (
    SAVE_EVERY,
    Contact,
    NoOfflineLimit,
    OfflineLimit,
    OfflineState,
)
from tests.mar_desktop.people.test_people_on_store import (
    ADMIN,
    ADMIN_PW,
    CNA,
    NURSE,
    NURSE_PW,
    World,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class TabletClock:
    """Wall clock and monotonic clock moved apart: someone may set the wall clock back."""

    def __init__(self) -> None:
        self.wall = T0
        self.mono = 500.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def run(self, hours: float) -> None:
        self.wall += timedelta(hours=hours)
        self.mono += hours * 3600

    def set_wall(self, when: datetime) -> None:
        self.wall = when


class Contacts:
    """An in-memory :class:`ContactStore` that counts its writes."""

    def __init__(self, contact: Contact | None = None, revoked: str | None = None) -> None:
        self.contact = contact
        self.revoked = revoked
        self.update_to: str | None = None
        self.saves = 0

    def load_contact(self) -> Contact | None:
        return self.contact

    def save_contact(self, contact: Contact) -> None:
        self.contact = contact
        self.saves += 1

    def enrolled(self) -> bool:
        return True

    def revocation_mode(self) -> str | None:
        return self.revoked

    def update_required(self) -> str | None:
        return self.update_to

    def save_update_required(self, oldest: str | None) -> None:
        self.update_to = oldest


SERVER_T0 = T0 + timedelta(minutes=7)  # the server's clock at the sync: this tablet's runs late


def _synced(clock: TabletClock, hours: int = 72) -> tuple[OfflineLimit, Contacts]:
    contacts = Contacts()
    limit = OfflineLimit(clock, contacts, hours=lambda: hours)
    limit.note_contact(SERVER_T0)
    return limit, contacts


def test_the_last_day_is_counted_down_then_phi_is_blocked() -> None:
    clock = TabletClock()
    limit, _ = _synced(clock)
    status = limit.status()
    assert status.state is OfflineState.OK and status.message() is None
    assert status.deadline == SERVER_T0 + timedelta(hours=72)  # by the server's clock
    clock.run(48.5)
    status = limit.status()
    assert status.state is OfflineState.LAST_DAY
    assert status.remaining == timedelta(hours=23.5)
    assert "23 h 30 min left" in (status.message() or "")
    clock.run(23.5)
    status = limit.status()
    assert status.state is OfflineState.EXPIRED and status.blocks_phi
    assert "72 hours" in (status.message() or "") and "break-glass" in (status.message() or "")


def test_setting_the_clock_back_does_not_extend_the_limit() -> None:
    clock = TabletClock()
    limit, _ = _synced(clock)
    clock.run(70)
    clock.set_wall(T0 - timedelta(days=30))  # the wall clock set back a month
    assert limit.status().remaining == timedelta(hours=2)  # the monotonic clock still counts
    clock.run(2)
    assert limit.status().state is OfflineState.EXPIRED


def test_a_restart_with_the_clock_set_back_keeps_the_time_already_spent() -> None:
    clock = TabletClock()
    limit, contacts = _synced(clock)
    clock.run(60)
    limit.persist_floor()  # the sync engine does this after each failed attempt
    saved = contacts.contact
    assert saved is not None and saved.elapsed_floor == pytest.approx(60 * 3600)
    # the process ends; the clock is set back; the monotonic clock restarts from a new base
    clock.set_wall(T0)
    clock.mono = 3.0
    again = OfflineLimit(clock, contacts, hours=lambda: 72)
    assert again.status().remaining == timedelta(hours=12)
    clock.run(12)
    assert again.status().state is OfflineState.EXPIRED


def test_the_clock_set_forward_only_shortens_it() -> None:
    clock = TabletClock()
    limit, _ = _synced(clock)
    clock.set_wall(T0 + timedelta(days=4))
    assert limit.status().state is OfflineState.EXPIRED


def test_an_idle_sync_saves_the_contact_at_most_every_half_hour() -> None:
    clock = TabletClock()
    limit, contacts = _synced(clock)
    assert contacts.saves == 1
    for _ in range(10):
        clock.run(1 / 60)
        limit.note_contact(SERVER_T0 + timedelta(minutes=1))
    assert contacts.saves == 1
    clock.run(SAVE_EVERY.total_seconds() / 3600)
    limit.note_contact(SERVER_T0 + SAVE_EVERY)
    assert contacts.saves == 2


def test_no_server_no_limit_and_enrolled_without_a_contact_is_locked() -> None:
    clock = TabletClock()
    assert OfflineLimit(clock, NoOfflineLimit()).status().state is OfflineState.NOT_ENROLLED
    assert OfflineLimit(clock, Contacts()).status().state is OfflineState.EXPIRED
    assert OfflineLimit(clock, Contacts(revoked="lost")).status().state is OfflineState.REVOKED


# ---- sign-in and sessions (real store, people services) ------------------------------------
def _offline(world: World, hours: float, revoked: str | None = None) -> Contacts:
    """Puts the world's tablet ``hours`` past its last sync (with a 72-hour limit)."""
    now = world.clock.now()
    then = now - timedelta(hours=hours)
    contacts = Contacts(Contact(then, then, 0.0), revoked)
    world.sessions.offline = OfflineLimit(world.clock, contacts, hours=lambda: 72)
    return contacts


def _stay_active(world: World, minutes: int) -> None:
    """The user keeps working (no inactivity lock) for ``minutes``."""
    for _ in range(minutes):
        world.clock.advance(timedelta(minutes=1))
        world.sessions.touch()


def _audited(world: World, action: str) -> list[dict[str, object]]:
    conn = world.store.connect_reader()
    try:
        rows = conn.execute(
            "SELECT json_extract(raw, '$.body') FROM audit WHERE kind = ? ORDER BY seq",
            (f"audit.{action}",),
        ).fetchall()
    finally:
        conn.close()
    import json

    return [json.loads(r[0]) for r in rows]


def test_past_the_limit_sign_in_needs_break_glass_which_is_audited(world: World) -> None:
    world.add_user(NURSE)
    _offline(world, 73)
    world.next_step()
    challenge = world.auth.begin_login(NURSE.username, NURSE_PW)
    with pytest.raises(OfflineLimitReached) as refused:
        world.auth.submit_totp(challenge, world.code(NURSE.user_id))
    assert refused.value.break_glass
    assert world.sessions.current is None  # no PHI: no session
    [logged] = _audited(world, "offline_limit_refused")
    assert logged["user_id"] == NURSE.user_id and logged["ip"] == "10.1.2.3"

    glass = refused.value.challenge
    assert glass is not None and glass.step is LoginStep.BREAK_GLASS  # type: ignore[attr-defined]
    session = world.auth.break_glass(glass, "Resident fell; need the MAR now")  # type: ignore[arg-type]
    assert world.sessions.principal().user == NURSE
    assert session.offline_override_until is not None
    [glassed] = _audited(world, "offline_break_glass")
    assert "Resident fell" in str(glassed["detail"])
    assert glassed["after"]["minutes"] == 60  # type: ignore[index]
    # the override lasts the facility's emergency minutes, then the session ends
    _stay_active(world, 59)
    assert world.sessions.current is not None
    world.clock.advance(timedelta(minutes=2))
    assert world.sessions.current is None


def test_a_role_without_emergency_access_cannot_break_the_glass(world: World) -> None:
    world.add_user(CNA)
    _offline(world, 80)
    world.next_step()
    challenge = world.auth.begin_login(CNA.username, NURSE_PW)
    with pytest.raises(OfflineLimitReached) as refused:
        world.auth.submit_totp(challenge, world.code(CNA.user_id))
    with pytest.raises(PermissionDenied):
        world.auth.break_glass(refused.value.challenge, "need it")  # type: ignore[arg-type]
    assert world.sessions.current is None
    assert any("break-glass" in str(b["detail"]) for b in _audited(world, "permission_refused"))


def test_a_session_ends_when_the_limit_is_reached(world: World) -> None:
    world.add_user(NURSE)
    _offline(world, 71.5)
    world.login(NURSE, NURSE_PW)
    assert world.sessions.principal().user == NURSE
    _stay_active(world, 28)
    assert world.sessions.current is not None
    world.clock.advance(timedelta(minutes=3))
    assert world.sessions.tick().value == "ended"
    with pytest.raises(SessionExpired):
        world.sessions.principal()
    assert any(b["detail"] == "offline_limit" for b in _audited(world, "logout"))


def test_a_revoked_tablet_signs_no_one_in_not_even_with_break_glass(world: World) -> None:
    _offline(world, 1, revoked="lost")
    with pytest.raises(OfflineLimitReached) as refused:
        world.auth.begin_login(ADMIN.username, ADMIN_PW)  # refused before any factor
    assert not refused.value.break_glass and refused.value.challenge is None
    assert _audited(world, "offline_limit_refused")
    assert not _audited(world, "login_failed")


# ---- the server refuses this app's version ------------------------------------------------
def test_an_app_the_server_refuses_shows_no_phi_until_it_is_updated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = TabletClock()
    limit, contacts = _synced(clock)
    limit.note_update_required("0.9.0")
    assert contacts.update_to == "0.9.0"  # kept across restarts
    status = limit.status()
    assert status.state is OfflineState.UPDATE_REQUIRED and status.blocks_phi
    assert not status.allows_break_glass
    assert "accepts 0.9.0 or newer" in (status.message() or "")
    # a restart of the same app still refuses; an updated app is no longer held by it
    assert OfflineLimit(clock, contacts).status().state is OfflineState.UPDATE_REQUIRED
    monkeypatch.setattr("mar_desktop.versions.__version__", "0.9.0")
    assert OfflineLimit(clock, contacts).status().state is OfflineState.OK
    # the updated app's first sync clears the refusal
    limit.note_contact(SERVER_T0)
    assert contacts.update_to is None


def test_an_unreadable_version_asked_for_counts_as_newer_than_this_app() -> None:
    clock = TabletClock()
    limit, _ = _synced(clock)
    limit.note_update_required("not a version")
    assert limit.status().state is OfflineState.UPDATE_REQUIRED


def test_a_refused_app_signs_no_one_in_and_ends_the_running_session(world: World) -> None:
    world.add_user(NURSE)
    contacts = _offline(world, 1)
    world.login(NURSE, NURSE_PW)
    assert world.sessions.principal().user == NURSE
    world.sessions.offline.note_update_required("99.0")  # type: ignore[union-attr]
    assert contacts.update_to == "99.0"
    assert world.sessions.tick().value == "ended"
    assert any(b["detail"] == "update_required" for b in _audited(world, "logout"))
    with pytest.raises(OfflineLimitReached) as refused:
        world.auth.begin_login(NURSE.username, NURSE_PW)  # refused before any factor
    assert not refused.value.break_glass and "Update the app" in str(refused.value)
    [logged] = _audited(world, "offline_limit_refused")
    assert "refuses this app version" in str(logged["detail"])
