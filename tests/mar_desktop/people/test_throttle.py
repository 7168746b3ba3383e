"""Throttling and lockout as a pure state machine, driven by a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mar_desktop.clock import FakeClock
from mar_desktop.errors import AccountLocked, Throttled
from mar_desktop.people.throttle import (
    DEFAULT_POLICY,
    FailureOutcome,
    Gate,
    ThrottlePolicy,
    ThrottleState,
    ensure_open,
    gate,
    record_failure,
    record_success,
    unlock,
)


def fail(
    state: ThrottleState, clock: FakeClock, n: int = 1
) -> tuple[ThrottleState, FailureOutcome]:
    outcome = FailureOutcome.COUNTED
    for _ in range(n):
        ensure_open(state, clock.now())
        state, outcome = record_failure(state, clock.now())
        if not state.locked:
            clock.advance(DEFAULT_POLICY.delay_after(state.failures))
    return state, outcome


def test_four_failures_have_no_delay() -> None:
    clock = FakeClock()
    state = ThrottleState()
    for _ in range(4):
        state, outcome = record_failure(state, clock.now())
        assert outcome is FailureOutcome.COUNTED
        assert gate(state, clock.now()).gate is Gate.OPEN


def test_delays_grow_from_the_fifth_failure() -> None:
    clock = FakeClock()
    state, _ = fail(ThrottleState(), clock, 4)
    waits = []
    for _ in range(5):
        state, outcome = record_failure(state, clock.now())
        assert outcome is FailureOutcome.THROTTLED
        decision = gate(state, clock.now())
        assert decision.gate is Gate.THROTTLED
        waits.append(decision.retry_after)
        with pytest.raises(Throttled) as err:
            ensure_open(state, clock.now())
        assert err.value.retry_after == decision.retry_after
        clock.advance(decision.retry_after - 0.5)
        assert gate(state, clock.now()).gate is Gate.THROTTLED
        clock.advance(0.5)
        assert gate(state, clock.now()).gate is Gate.OPEN
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0]


def test_delay_is_capped() -> None:
    policy = ThrottlePolicy(lock_after=50, max_delay_seconds=60)
    assert policy.delay_after(20) == 60.0


def test_tenth_failure_locks_until_timed_release() -> None:
    clock = FakeClock()
    state, outcome = fail(ThrottleState(), clock, 10)
    assert outcome is FailureOutcome.LOCKED
    assert state.locked
    with pytest.raises(AccountLocked):
        ensure_open(state, clock.now())
    clock.advance(timedelta(minutes=29, seconds=59) - timedelta(seconds=32))
    assert gate(state, clock.now()).gate is Gate.LOCKED
    clock.advance(timedelta(minutes=1))
    assert gate(state, clock.now()).gate is Gate.OPEN


def test_after_timed_release_the_next_failure_locks_again() -> None:
    clock = FakeClock()
    state, _ = fail(ThrottleState(), clock, 10)
    clock.advance(timedelta(minutes=31))
    state, outcome = record_failure(state, clock.now())
    assert outcome is FailureOutcome.LOCKED
    assert gate(state, clock.now()).gate is Gate.LOCKED


def test_admin_only_lock_never_releases_by_itself() -> None:
    clock = FakeClock()
    policy = ThrottlePolicy(lock_seconds=0)
    state = ThrottleState()
    for _ in range(10):
        state, outcome = record_failure(state, clock.now(), policy)
    assert outcome is FailureOutcome.LOCKED
    clock.advance(timedelta(days=30))
    assert gate(state, clock.now(), policy).gate is Gate.LOCKED
    assert gate(unlock(state), clock.now(), policy).gate is Gate.OPEN


def test_success_resets_counters() -> None:
    clock = FakeClock()
    state, _ = fail(ThrottleState(), clock, 7)
    state = record_success(state)
    assert state == ThrottleState()
    state, outcome = record_failure(state, clock.now())
    assert outcome is FailureOutcome.COUNTED


def test_admin_unlock_clears_lock() -> None:
    clock = FakeClock()
    state, _ = fail(ThrottleState(), clock, 10)
    assert gate(unlock(state), clock.now()).gate is Gate.OPEN


def test_clock_set_back_keeps_lock() -> None:
    clock = FakeClock()
    state, _ = fail(ThrottleState(), clock, 10)
    clock.advance(timedelta(hours=-5))
    assert gate(state, clock.now()).gate is Gate.LOCKED
