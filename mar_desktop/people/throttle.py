"""Throttling and lockout of repeated sign-in failures, per account and per device.

A pure state machine over :class:`ThrottleState` (stored device-locally by the service, so a
restart does not reset it). Failures of any factor — password, TOTP code, recovery code — count
the same. With the default :class:`ThrottlePolicy`:

* failures 1-4: no delay;
* after failure n = 5…9 the next attempt must wait ``2^(n-4)`` s (2, 4, 8, 16, 32 s; capped);
* failure 10 locks the account on this device until an admin unlocks it or ``lock_seconds``
  (30 min) pass; after a timed release the count is *not* reset, so the next failure locks
  again at once — a guesser gets one try per release period, not ten;
* a success resets everything.

Times are aware UTC ``datetime`` from the :class:`~mar_desktop.clock.Clock` (wall time, because
the state outlives the process). If the clock is set back before a failure or lock time, the
account stays throttled or locked (fail-safe) until an admin unlocks it or the time passes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mar_desktop.errors import AccountLocked, Throttled


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free_failures: int = 5
    lock_after: int = 10
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 60.0
    lock_seconds: int = 1800  # timed release; 0: only an admin unlocks

    def delay_after(self, failures: int) -> float:
        """Seconds the next attempt waits after ``failures`` consecutive failures."""
        if failures < self.free_failures:
            return 0.0
        exponent = failures - self.free_failures
        return float(min(self.base_delay_seconds * 2.0**exponent, self.max_delay_seconds))


DEFAULT_POLICY = ThrottlePolicy()


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """Consecutive failures of one account on this device."""

    failures: int = 0
    last_failure_at: datetime | None = None
    locked_at: datetime | None = None

    @property
    def locked(self) -> bool:
        """True when a lock has been set (whether or not its timed release has passed)."""
        return self.locked_at is not None


class Gate(StrEnum):
    OPEN = "open"
    THROTTLED = "throttled"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class GateDecision:
    gate: Gate
    retry_after: float = 0.0  # seconds; for LOCKED with timed release, until release


class FailureOutcome(StrEnum):
    COUNTED = "counted"  # below the throttle threshold
    THROTTLED = "throttled"  # delays now apply
    LOCKED = "locked"  # this failure locked the account


def gate(
    state: ThrottleState, now: datetime, policy: ThrottlePolicy = DEFAULT_POLICY
) -> GateDecision:
    """May an attempt be made now? Does not change state."""
    if state.locked_at is not None:
        if policy.lock_seconds <= 0 or now < state.locked_at:
            forever = policy.lock_seconds <= 0
            return GateDecision(Gate.LOCKED, float("inf") if forever else policy.lock_seconds)
        release = state.locked_at + timedelta(seconds=policy.lock_seconds)
        if now < release:
            return GateDecision(Gate.LOCKED, (release - now).total_seconds())
    delay = policy.delay_after(state.failures)
    if delay and state.last_failure_at is not None and state.failures < policy.lock_after:
        elapsed = (now - state.last_failure_at).total_seconds()
        if elapsed < 0:
            return GateDecision(Gate.THROTTLED, delay)
        if elapsed < delay:
            return GateDecision(Gate.THROTTLED, delay - elapsed)
    return GateDecision(Gate.OPEN)


def ensure_open(
    state: ThrottleState, now: datetime, policy: ThrottlePolicy = DEFAULT_POLICY
) -> None:
    """Raises :class:`AccountLocked` or :class:`Throttled` unless an attempt may be made now."""
    decision = gate(state, now, policy)
    if decision.gate is Gate.LOCKED:
        raise AccountLocked(
            "This account is locked on this tablet after too many failed sign-ins. "
            "Ask a facility administrator to unlock it, or try again later."
        )
    if decision.gate is Gate.THROTTLED:
        wait = max(1, round(decision.retry_after + 0.499))
        raise Throttled(
            f"Too many failed sign-ins. Try again in {wait} seconds.",
            retry_after=decision.retry_after,
        )


def record_failure(
    state: ThrottleState, now: datetime, policy: ThrottlePolicy = DEFAULT_POLICY
) -> tuple[ThrottleState, FailureOutcome]:
    """The state after one more failure, and what that failure caused."""
    failures = state.failures + 1
    if failures >= policy.lock_after:
        return ThrottleState(failures, now, now), FailureOutcome.LOCKED
    throttled = failures >= policy.free_failures
    outcome = FailureOutcome.THROTTLED if throttled else FailureOutcome.COUNTED
    return replace(state, failures=failures, last_failure_at=now), outcome


def record_success(state: ThrottleState) -> ThrottleState:
    """A successful sign-in resets the counters."""
    del state
    return ThrottleState()


def unlock(state: ThrottleState) -> ThrottleState:
    """An admin unlock clears the lock and the counters."""
    del state
    return ThrottleState()
