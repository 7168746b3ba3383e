"""Sessions: in memory only, inactivity lock, 12-hour re-auth, emergency access, observers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mar_desktop.clock import FakeClock
from mar_desktop.errors import SessionExpired, ValidationError
from mar_desktop.model import FacilitySettings, Role, User
from mar_desktop.people.sessions import (
    SessionEvent,
    SessionEventKind,
    SessionManager,
    SessionState,
)

NURSE = User(
    user_id="u-n",
    username="nina",
    full_name="Nina Nurse",
    initials="NN",
    role=Role.NURSE,
    unit_ids=("east",),
)
OTHER = User(user_id="u-o", username="otto", full_name="Otto Other", initials="OO", role=Role.NURSE)


def manager(clock: FakeClock, **settings: int) -> tuple[SessionManager, list[SessionEvent]]:
    events: list[SessionEvent] = []
    mgr = SessionManager(clock, "dev-1", FacilitySettings(**settings))  # type: ignore[arg-type]
    mgr.subscribe(events.append)
    return mgr, events


def kinds(events: list[SessionEvent]) -> list[SessionEventKind]:
    return [e.kind for e in events]


def test_start_gives_active_session_with_principal() -> None:
    clock = FakeClock()
    mgr, events = manager(clock)
    session = mgr.start(NURSE)
    assert mgr.state is SessionState.ACTIVE
    assert not mgr.is_locked()
    assert mgr.principal().user == NURSE
    assert mgr.principal().device_id == "dev-1"
    assert session.started_at == clock.now()
    assert kinds(events) == [SessionEventKind.STARTED]


def test_no_session_means_locked() -> None:
    mgr, _ = manager(FakeClock())
    assert mgr.is_locked()
    assert mgr.state is SessionState.ENDED
    with pytest.raises(SessionExpired):
        mgr.principal()


def test_inactivity_locks_after_setting() -> None:
    clock = FakeClock()
    mgr, events = manager(clock)
    mgr.start(NURSE)
    clock.advance(299)
    assert not mgr.is_locked()
    clock.advance(1)
    assert mgr.is_locked()
    assert mgr.state is SessionState.LOCKED
    assert events[-1].kind is SessionEventKind.LOCKED
    assert events[-1].reason == "inactivity"
    with pytest.raises(SessionExpired):
        mgr.principal()
    with pytest.raises(SessionExpired):
        mgr.touch()


def test_activity_postpones_lock() -> None:
    clock = FakeClock()
    mgr, _ = manager(clock, inactivity_lock_seconds=60)
    mgr.start(NURSE)
    for _ in range(10):
        clock.advance(50)
        mgr.touch()
    assert not mgr.is_locked()
    clock.advance(60)
    assert mgr.is_locked()


def test_tick_fires_lock_once() -> None:
    clock = FakeClock()
    mgr, events = manager(clock)
    mgr.start(NURSE)
    clock.advance(400)
    mgr.tick()
    mgr.tick()
    assert kinds(events).count(SessionEventKind.LOCKED) == 1


def test_same_user_unlocks_other_cannot() -> None:
    clock = FakeClock()
    mgr, events = manager(clock)
    mgr.start(NURSE)
    mgr.lock()
    with pytest.raises(SessionExpired):
        mgr.mark_unlocked(OTHER.user_id)
    assert mgr.is_locked()
    mgr.mark_unlocked(NURSE.user_id)
    assert not mgr.is_locked()
    assert kinds(events)[-1] is SessionEventKind.UNLOCKED


def test_reauth_required_after_twelve_hours_despite_activity() -> None:
    clock = FakeClock()
    mgr, events = manager(clock)
    mgr.start(NURSE)
    for _ in range(12 * 60 - 1):
        clock.advance(60)
        mgr.touch()
    assert not mgr.is_locked()
    clock.advance(60)
    assert mgr.state is SessionState.REAUTH_REQUIRED
    assert kinds(events)[-1] is SessionEventKind.REAUTH_REQUIRED
    with pytest.raises(SessionExpired):
        mgr.mark_unlocked(NURSE.user_id)  # a password alone is not enough
    assert mgr.is_locked()
    mgr.mark_reauthenticated(NURSE.user_id)
    assert mgr.state is SessionState.ACTIVE
    for _ in range(11 * 60):
        clock.advance(60)
        mgr.touch()
    assert mgr.state is SessionState.ACTIVE


def test_unlock_when_reauth_became_due_while_locked() -> None:
    clock = FakeClock()
    mgr, _ = manager(clock, reauth_hours=1)
    mgr.start(NURSE)
    clock.advance(400)
    assert mgr.state is SessionState.LOCKED
    clock.advance(timedelta(hours=1))
    assert mgr.state is SessionState.REAUTH_REQUIRED
    with pytest.raises(SessionExpired):
        mgr.mark_unlocked(NURSE.user_id)


def test_another_user_signing_in_ends_the_first_session() -> None:
    clock = FakeClock()
    mgr, events = manager(clock)
    first = mgr.start(NURSE)
    first.held["draft"] = "something"
    mgr.lock()
    second = mgr.start(OTHER)
    assert mgr.principal().user == OTHER
    assert first.state is SessionState.ENDED
    assert first.held == {}
    ended = [e for e in events if e.kind is SessionEventKind.ENDED]
    assert ended[0].user == NURSE
    assert ended[0].reason == "replaced"
    assert second.session_id != first.session_id


def test_logout_clears_session() -> None:
    clock = FakeClock()
    mgr, events = manager(clock)
    session = mgr.start(NURSE)
    session.held["resident"] = "r-1"
    mgr.end()
    assert mgr.current is None
    assert session.held == {}
    assert session.state is SessionState.ENDED
    assert events[-1].kind is SessionEventKind.ENDED
    assert events[-1].reason == "logout"
    with pytest.raises(SessionExpired):
        mgr.principal()


def test_nothing_resumes_after_restart() -> None:
    clock = FakeClock()
    mgr, _ = manager(clock)
    mgr.start(NURSE)
    restarted, _ = manager(clock)  # a new process: a new manager
    assert restarted.current is None
    assert restarted.is_locked()
    with pytest.raises(SessionExpired):
        restarted.principal()


def test_emergency_access_widens_scope_and_lapses_by_itself() -> None:
    clock = FakeClock()
    mgr, events = manager(clock, emergency_access_minutes=30, inactivity_lock_seconds=3600)
    mgr.start(NURSE)
    assert not mgr.principal().may_see_unit("west", clock.now())
    grant = mgr.grant_emergency("  Code blue in west wing ", ["west"])
    assert grant.reason == "Code blue in west wing"
    assert grant.until == clock.now() + timedelta(minutes=30)
    assert mgr.current is not None
    assert mgr.current.emergency == grant
    assert mgr.principal().may_see_unit("west", clock.now())
    clock.advance(timedelta(minutes=29))
    mgr.touch()
    assert mgr.principal().may_see_unit("west", clock.now())
    clock.advance(timedelta(minutes=1))
    mgr.tick()
    assert mgr.current is not None
    assert mgr.current.emergency is None
    assert not mgr.principal().may_see_unit("west", clock.now())
    ended = [e for e in events if e.kind is SessionEventKind.EMERGENCY_ENDED]
    assert len(ended) == 1
    assert ended[0].reason == "expired"
    assert ended[0].emergency == grant


@pytest.mark.parametrize("reason", ["", "   "])
def test_emergency_needs_reason(reason: str) -> None:
    mgr, _ = manager(FakeClock())
    mgr.start(NURSE)
    with pytest.raises(ValidationError):
        mgr.grant_emergency(reason, ["west"])


def test_emergency_needs_active_session() -> None:
    clock = FakeClock()
    mgr, _ = manager(clock)
    mgr.start(NURSE)
    mgr.lock()
    with pytest.raises(SessionExpired):
        mgr.grant_emergency("reason", ["west"])


def test_logout_ends_emergency() -> None:
    mgr, events = manager(FakeClock())
    mgr.start(NURSE)
    mgr.grant_emergency("fall in west", ["west"])
    mgr.end()
    assert SessionEventKind.EMERGENCY_ENDED in kinds(events)


def test_unsubscribe() -> None:
    clock = FakeClock()
    mgr = SessionManager(clock, "dev")
    seen: list[SessionEvent] = []
    stop = mgr.subscribe(seen.append)
    mgr.start(NURSE)
    stop()
    mgr.end()
    assert kinds(seen) == [SessionEventKind.STARTED]


class WallOnlyClock(FakeClock):
    """Moves the wall clock without the monotonic one, like a user changing the time."""

    def shift_wall(self, delta: timedelta) -> None:
        self._now += delta


def test_wall_clock_change_neither_unlocks_nor_extends() -> None:
    clock = WallOnlyClock()
    mgr, _ = manager(clock)
    mgr.start(NURSE)
    clock.shift_wall(timedelta(hours=13))
    assert mgr.state is SessionState.ACTIVE  # timers are monotonic
    clock.advance(300)
    assert mgr.state is SessionState.LOCKED
