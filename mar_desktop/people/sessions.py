"""Sign-in sessions, in memory only (docs/architecture.md#people-and-sessions).

One :class:`SessionManager` per running app holds at most one :class:`Session`. Nothing is
persisted: a new process (a restart, a crash) starts with no session, always.

States: ``ACTIVE`` (work may be done), ``LOCKED`` (inactivity or manual lock: PHI hidden; the
same user unlocks with the password), ``REAUTH_REQUIRED`` (``reauth_hours`` since the last full
sign-in: password *and* TOTP needed), ``ENDED`` (no session). Timers run on the clock's
monotonic reading, so changing the wall clock neither extends nor ends a session. The state is
re-evaluated on every query (:meth:`SessionManager.is_locked`, :meth:`~SessionManager.principal`
…), so a lock is effective even if the UI's periodic :meth:`~SessionManager.tick` is late.

The manager verifies no credential: the auth service does, then calls :meth:`start`,
:meth:`mark_unlocked` or :meth:`mark_reauthenticated`. Observers (the UI, the audit writer)
subscribe to :class:`SessionEvent` s; they are called synchronously on the thread that caused or
noticed the change, after the manager's internal lock is released; an observer's exception
propagates to that caller after the state change is made. Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from mar_desktop.clock import Clock
from mar_desktop.envelope import new_id
from mar_desktop.errors import SessionExpired, ValidationError
from mar_desktop.model import FacilitySettings, User
from mar_desktop.people.offline import OfflineLimit, OfflineState
from mar_desktop.permissions import Principal
from mar_desktop.signing import DeviceSigner

_END_REASONS = {
    OfflineState.REVOKED: "revoked",
    OfflineState.UPDATE_REQUIRED: "update_required",
}
"""Why a running session ends when the tablet may no longer show PHI (else the offline limit)."""


class SessionState(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"
    REAUTH_REQUIRED = "reauth_required"
    ENDED = "ended"


class SessionEventKind(StrEnum):
    STARTED = "started"
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    REAUTH_REQUIRED = "reauth_required"
    REAUTHENTICATED = "reauthenticated"
    EMERGENCY_STARTED = "emergency_started"
    EMERGENCY_ENDED = "emergency_ended"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class EmergencyAccess:
    """Break-the-glass access beyond the assigned units, with the reason the nurse gave."""

    reason: str
    unit_ids: frozenset[str]
    all_units: bool
    started_at: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class SessionEvent:
    kind: SessionEventKind
    session_id: str
    user: User
    at: datetime
    reason: str = ""  # e.g. "inactivity", "manual", "logout", "replaced", "expired"
    emergency: EmergencyAccess | None = None


Observer = Callable[[SessionEvent], None]


class Session:
    """A signed-in user on this device. Read-only for callers; the manager changes it."""

    def __init__(self, user: User, device_id: str, ip: str | None, now: datetime, mono: float):
        self.session_id = new_id()
        self.user_key: DeviceSigner | None = None  # the user's own key, for the session only
        self.user = user
        self.device_id = device_id
        self.ip = ip
        self.started_at = now
        self.last_activity = now
        self.last_full_auth = now
        self.state = SessionState.ACTIVE
        self.emergency: EmergencyAccess | None = None
        self.held: dict[str, Any] = {}  # what the UI keeps for this session; cleared at the end
        self._activity_mono = mono
        self._full_auth_mono = mono
        self._emergency_until_mono: float | None = None
        self.offline_override_until: datetime | None = None
        """Break-glass past the offline limit: until when (None: not taken)."""
        self._offline_override_mono: float | None = None

    @property
    def principal(self) -> Principal:
        """The principal services act for, with emergency units while they last."""
        emergency = self.emergency
        return Principal(
            user=self.user,
            device_id=self.device_id,
            ip=self.ip,
            emergency_units=emergency.unit_ids if emergency else frozenset(),
            emergency_until=emergency.until if emergency else None,
        )

    def _clear(self) -> None:
        self.state = SessionState.ENDED
        self.emergency = None
        self._emergency_until_mono = None
        self.held.clear()
        self.user_key = None


@dataclass
class _Pending:
    events: list[SessionEvent] = field(default_factory=list)


class SessionManager:
    """Holds the current session of this app instance. See the module docstring."""

    def __init__(
        self,
        clock: Clock,
        device_id: str,
        settings: FacilitySettings | None = None,
        *,
        ip: str | None = None,
        offline: OfflineLimit | None = None,
    ) -> None:
        """``offline``: the tablet's offline limit; a session ends when it is reached (unless
        break-glass was taken at sign-in) or the tablet is revoked. None: no limit."""
        self._clock = clock
        self._device_id = device_id
        self._settings = settings or FacilitySettings()
        self._ip = ip
        self.offline = offline
        self._session: Session | None = None
        self._observers: list[Observer] = []
        self._lock = threading.RLock()

    # ---- observers and settings --------------------------------------------------------------
    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Adds ``observer``; returns a function that removes it."""
        with self._lock:
            self._observers.append(observer)

        def unsubscribe() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return unsubscribe

    @property
    def settings(self) -> FacilitySettings:
        return self._settings

    def update_settings(self, settings: FacilitySettings) -> None:
        """Applies changed facility settings (lock and re-auth times) from now on."""
        with self._lock:
            self._settings = settings
        self.tick()

    # ---- queries -----------------------------------------------------------------------------
    @property
    def current(self) -> Session | None:
        """The session (in whatever state but ENDED), after re-evaluating the timers."""
        self.tick()
        return self._session

    @property
    def state(self) -> SessionState:
        session = self.current
        return session.state if session else SessionState.ENDED

    def is_locked(self) -> bool:
        """True whenever PHI must not be shown: no session, locked or re-auth required."""
        return self.state is not SessionState.ACTIVE

    def principal(self, *, touch: bool = False) -> Principal:
        """The active session's principal. Raises :class:`SessionExpired` unless ACTIVE."""
        session = self._active_session()
        if touch:
            self.touch()
        return session.principal

    def _active_session(self) -> Session:
        session = self.current
        if session is None:
            raise SessionExpired("Please sign in.")
        if session.state is SessionState.LOCKED:
            raise SessionExpired("The screen is locked. Enter your password to continue.")
        if session.state is SessionState.REAUTH_REQUIRED:
            raise SessionExpired("Please sign in again with your password and code.")
        return session

    # ---- transitions -------------------------------------------------------------------------
    def tick(self) -> SessionState:
        """Re-evaluates inactivity, re-auth and emergency timers; fires events for changes."""
        pending = _Pending()
        with self._lock:
            self._evaluate(pending)
            state = self._session.state if self._session else SessionState.ENDED
        self._fire(pending)
        return state

    def touch(self) -> None:
        """Records user activity. Raises :class:`SessionExpired` unless ACTIVE."""
        session = self._active_session()
        with self._lock:
            if session is self._session and session.state is SessionState.ACTIVE:
                session.last_activity = self._clock.now()
                session._activity_mono = self._clock.monotonic()

    def start(
        self, user: User, user_key: DeviceSigner | None = None, *, offline_override: bool = False
    ) -> Session:
        """Begins a session for ``user`` after a full sign-in; ends any current session.
        ``user_key`` (the user's own key, unwrapped by the sign-in) is held for the session
        only and forgotten when it ends. ``offline_override``: break-glass past the offline
        limit (the auth service checked the permission and audits it) for the facility's
        emergency minutes."""
        pending = _Pending()
        with self._lock:
            if self._session is not None:
                reason = "replaced" if self._session.user.user_id != user.user_id else "restarted"
                self._end(pending, reason)
            now, mono = self._clock.now(), self._clock.monotonic()
            session = Session(user, self._device_id, self._ip, now, mono)
            session.user_key = user_key
            if offline_override:
                minutes = self._settings.emergency_access_minutes
                session.offline_override_until = now + timedelta(minutes=minutes)
                session._offline_override_mono = mono + minutes * 60
            self._session = session
            pending.events.append(self._event(SessionEventKind.STARTED, session))
        self._fire(pending)
        return session

    def user_key(self, user_id: str) -> DeviceSigner | None:
        """The signed-in user's own key while ``user_id``'s session is ACTIVE, else None. What
        an administrator's account changes are signed with."""
        with self._lock:
            session = self._session
            if session is None or session.user.user_id != user_id:
                return None
            if session.state is not SessionState.ACTIVE:
                return None
            return session.user_key

    def lock(self, reason: str = "manual") -> None:
        """Locks an ACTIVE session at once (PHI hidden)."""
        pending = _Pending()
        with self._lock:
            self._evaluate(pending)
            session = self._session
            if session is not None and session.state is SessionState.ACTIVE:
                session.state = SessionState.LOCKED
                pending.events.append(self._event(SessionEventKind.LOCKED, session, reason))
        self._fire(pending)

    def mark_unlocked(self, user_id: str) -> Session:
        """After the auth service verified ``user_id``'s password: LOCKED → ACTIVE (or
        REAUTH_REQUIRED if the full sign-in is due). Only the session's own user unlocks."""
        return self._reopen(user_id, full=False)

    def mark_reauthenticated(self, user_id: str) -> Session:
        """After a full sign-in (password + TOTP) of the session's user: ACTIVE, 12-hour
        timer restarted."""
        return self._reopen(user_id, full=True)

    def _reopen(self, user_id: str, *, full: bool) -> Session:
        pending = _Pending()
        with self._lock:
            self._evaluate(pending)
            session = self._session
            if session is None:
                raise SessionExpired("Please sign in.")
            if session.user.user_id != user_id:
                raise SessionExpired("Only the signed-in user can unlock this session.")
            if not full and session.state is SessionState.REAUTH_REQUIRED:
                raise SessionExpired("Please sign in again with your password and code.")
            now, mono = self._clock.now(), self._clock.monotonic()
            was = session.state
            if full:
                session.last_full_auth, session._full_auth_mono = now, mono
            session.last_activity, session._activity_mono = now, mono
            session.state = SessionState.ACTIVE
            if full:
                pending.events.append(self._event(SessionEventKind.REAUTHENTICATED, session))
            elif was is SessionState.LOCKED:
                pending.events.append(self._event(SessionEventKind.UNLOCKED, session))
        self._fire(pending)
        return session

    def grant_emergency(
        self, reason: str, unit_ids: Collection[str], *, all_units: bool = False
    ) -> EmergencyAccess:
        """Grants emergency access to ``unit_ids`` for the facility's emergency minutes.
        The caller (the auth service) checks the permission and writes the audit event."""
        text = reason.strip()
        if not text:
            raise ValidationError("State the reason for emergency access.")
        if not unit_ids:
            raise ValidationError("Choose at least one unit for emergency access.")
        pending = _Pending()
        with self._lock:
            self._evaluate(pending)
            session = self._session
            if session is None or session.state is not SessionState.ACTIVE:
                raise SessionExpired("Please sign in.")
            now, mono = self._clock.now(), self._clock.monotonic()
            minutes = self._settings.emergency_access_minutes
            grant = EmergencyAccess(
                reason=text,
                unit_ids=frozenset(unit_ids),
                all_units=all_units,
                started_at=now,
                until=now + timedelta(minutes=minutes),
            )
            session.emergency = grant
            session._emergency_until_mono = mono + minutes * 60
            pending.events.append(self._event(SessionEventKind.EMERGENCY_STARTED, session))
        self._fire(pending)
        return grant

    def end_emergency(self) -> None:
        """Ends emergency access before it lapses by itself."""
        pending = _Pending()
        with self._lock:
            session = self._session
            if session is not None and session.emergency is not None:
                self._stop_emergency(pending, session, "ended")
        self._fire(pending)

    def end(self, reason: str = "logout") -> None:
        """Ends the session (logout) and clears what it held."""
        pending = _Pending()
        with self._lock:
            if self._session is not None:
                self._end(pending, reason)
        self._fire(pending)

    # ---- internals (called with self._lock held) ---------------------------------------------
    def _event(self, kind: SessionEventKind, session: Session, reason: str = "") -> SessionEvent:
        return SessionEvent(
            kind, session.session_id, session.user, self._clock.now(), reason, session.emergency
        )

    def _evaluate(self, pending: _Pending) -> None:
        session = self._session
        if session is None:
            return
        mono = self._clock.monotonic()
        if self.offline is not None:
            status = self.offline.status()
            override = session._offline_override_mono
            if status.blocks_phi and (
                not status.allows_break_glass or override is None or mono >= override
            ):
                self._end(pending, _END_REASONS.get(status.state, "offline_limit"))
                return
        until = session._emergency_until_mono
        if session.emergency is not None and until is not None and mono >= until:
            self._stop_emergency(pending, session, "expired")
        if session.state is SessionState.REAUTH_REQUIRED:
            return
        if mono - session._full_auth_mono >= self._settings.reauth_hours * 3600:
            session.state = SessionState.REAUTH_REQUIRED
            pending.events.append(self._event(SessionEventKind.REAUTH_REQUIRED, session, "due"))
        elif (
            session.state is SessionState.ACTIVE
            and mono - session._activity_mono >= self._settings.inactivity_lock_seconds
        ):
            session.state = SessionState.LOCKED
            pending.events.append(self._event(SessionEventKind.LOCKED, session, "inactivity"))

    def _stop_emergency(self, pending: _Pending, session: Session, reason: str) -> None:
        pending.events.append(self._event(SessionEventKind.EMERGENCY_ENDED, session, reason))
        session.emergency = None
        session._emergency_until_mono = None

    def _end(self, pending: _Pending, reason: str) -> None:
        session = self._session
        if session is None:
            return
        if session.emergency is not None:
            self._stop_emergency(pending, session, reason)
        pending.events.append(self._event(SessionEventKind.ENDED, session, reason))
        session._clear()
        self._session = None

    def _fire(self, pending: _Pending) -> None:
        if not pending.events:
            return
        with self._lock:
            observers = list(self._observers)
        for event in pending.events:
            for observer in observers:
                observer(event)
