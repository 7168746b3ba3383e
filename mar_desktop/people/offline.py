"""The offline limit: how long an enrolled tablet may show PHI without reaching its server.

A facility setting (``FacilitySettings.offline_signin_hours``, default 72) bounds the time since
the tablet's last successful sync. Past it, sign-in, unlock and re-authentication are refused
(:class:`~mar_desktop.errors.OfflineLimitReached`, audited) unless the user takes break-glass
access with a stated reason (audited; :meth:`mar_desktop.people.auth.AuthService.break_glass`),
and a running session ends (:class:`~mar_desktop.people.sessions.SessionManager` checks it on
its tick). A revoked tablet is refused without break-glass. A tablet not enrolled with a server
(the stand-alone demo) has no limit.

How time is counted, so that setting the tablet's clock back never extends the limit: the
last contact is stored as the SERVER's clock at that sync, the device's clock then, and a floor
(seconds known to have passed since, kept across restarts). Elapsed time is the largest of:
the floor; the device clock's advance since the contact; and, within this process, the
elapsed time when it was first computed plus the MONOTONIC clock's advance since. So the clock
set back while running changes nothing (monotonic), and after a restart with the clock set back
the floor still holds; :meth:`OfflineLimit.persist_floor` raises the floor (the sync engine calls
it after each failed attempt). The deadline shown is the server's time of contact plus the
limit. Setting the clock *forward* only shortens the time left (the most restrictive reading).

Threads: :meth:`OfflineLimit.status` is pure memory and cheap (the GUI's status bar and the
session tick call it); the methods that load or save go through the :class:`ContactStore` port
on the caller's thread (worker or sync thread, never the GUI's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from mar_desktop.clock import Clock
from mar_desktop.versions import this_app_older_than, update_message

DEFAULT_HOURS = 72
LAST_DAY = timedelta(hours=24)
SAVE_EVERY = timedelta(minutes=30)
"""A contact is saved at most this often while it merely moves on (an idle sync writes nothing);
after a restart the limit may therefore count from up to this much earlier: stricter, never
looser."""


@dataclass(frozen=True, slots=True)
class Contact:
    """The last successful sync: the server's clock then, this device's clock then, and the
    seconds known to have passed since (raised while offline, kept across restarts)."""

    server_time: datetime
    device_time: datetime
    elapsed_floor: float = 0.0


class ContactStore(Protocol):
    """Where the last contact and the revocation are kept (device-local, never synced)."""

    def load_contact(self) -> Contact | None:
        """The saved contact, or None when the tablet has none (not enrolled, or never synced
        since this version: then the last acknowledged push or the enrolment counts)."""
        ...

    def save_contact(self, contact: Contact) -> None: ...

    def enrolled(self) -> bool: ...

    def revocation_mode(self) -> str | None:
        """``retire``/``lost`` once the server told this tablet it is revoked, else None."""
        ...

    def update_required(self) -> str | None:
        """The oldest app version the server last said it accepts when it refused this
        tablet's (HTTP 426), or None."""
        ...

    def save_update_required(self, oldest: str | None) -> None:
        """Keeps (or with None clears) what :meth:`update_required` returns."""
        ...


class OfflineState(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    OK = "ok"
    LAST_DAY = "last_day"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UPDATE_REQUIRED = "update_required"
    """The server refused this app's version: no PHI, no break-glass, until the app is updated
    (an app at or above the version asked for is no longer held by it)."""


@dataclass(frozen=True, slots=True)
class OfflineStatus:
    state: OfflineState
    remaining: timedelta | None = None
    """Time left before the limit (0 once reached); None without a limit."""
    deadline: datetime | None = None
    """When the limit is reached, by the server's clock."""
    limit_hours: int = DEFAULT_HOURS
    oldest_accepted: str | None = None
    """With UPDATE_REQUIRED: the oldest app version the server accepts."""

    @property
    def blocks_phi(self) -> bool:
        return self.state in (
            OfflineState.EXPIRED, OfflineState.REVOKED, OfflineState.UPDATE_REQUIRED
        )

    @property
    def allows_break_glass(self) -> bool:
        """Only the offline limit can be passed in an emergency: a revoked tablet or one whose
        app the server refuses could never hand over what would be recorded."""
        return self.state is OfflineState.EXPIRED

    def message(self) -> str | None:
        """Plain words for the status bar and the refusal (no PHI), or None when all is well."""
        if self.state is OfflineState.UPDATE_REQUIRED:
            return update_message(self.oldest_accepted or "a newer version")
        if self.state is OfflineState.REVOKED:
            return (
                "This tablet was revoked by the facility: no one can sign in on it any more. "
                "Give it back to the administrator."
            )
        if self.state is OfflineState.EXPIRED:
            return (
                f"This tablet has not reached the server for over {self.limit_hours} hours, so "
                "it shows no patient data. Connect it to the network and sync; in an emergency "
                "use break-glass access (audited)."
            )
        if self.state is OfflineState.LAST_DAY and self.remaining is not None:
            return (
                f"Sync needed: {_words(self.remaining)} left before this tablet stops showing "
                "patient data offline."
            )
        return None


def _words(left: timedelta) -> str:
    minutes = max(0, int(left.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


class OfflineLimit:
    """See the module docstring. Thread-safe."""

    def __init__(
        self,
        clock: Clock,
        store: ContactStore,
        hours: Callable[[], int] = lambda: DEFAULT_HOURS,
    ) -> None:
        self._clock = clock
        self._store = store
        self._hours = hours
        self._lock = threading.Lock()
        self._contact: Contact | None = None
        self._enrolled = False
        self._revoked: str | None = None
        self._update_to: str | None = None
        self._base: tuple[float, float] | None = None  # (monotonic, elapsed then)
        self._saved_at: float | None = None  # monotonic time of the last save
        self.reload()

    # ---- the port (caller's thread) -----------------------------------------------------------
    def reload(self) -> None:
        """Reads the contact and revocation again (worker thread)."""
        contact = self._store.load_contact()
        enrolled = self._store.enrolled()
        revoked = self._store.revocation_mode()
        update_to = self._store.update_required()
        with self._lock:
            self._contact, self._enrolled, self._revoked = contact, enrolled, revoked
            self._update_to = update_to
            self._base = None

    def note_contact(self, server_time: datetime | None) -> None:
        """A sync succeeded now; ``server_time`` is the server's clock (None: use this
        device's). Saved when the saved contact is older than :data:`SAVE_EVERY` (or the first
        time), so an idle sync usually writes nothing. Sync thread."""
        now, mono = self._clock.now(), self._clock.monotonic()
        contact = Contact(server_time or now, now, 0.0)
        with self._lock:
            self._contact, self._enrolled = contact, True
            self._base = (mono, 0.0)
            due = self._saved_at is None or mono - self._saved_at >= SAVE_EVERY.total_seconds()
            if due:
                self._saved_at = mono
        if due:
            self._store.save_contact(contact)
        with self._lock:
            cleared, self._update_to = self._update_to is not None, None
        if cleared:
            self._store.save_update_required(None)

    def note_update_required(self, oldest: str) -> None:
        """The server refused this app's version (it accepts ``oldest`` or newer): saved, and
        from now on :meth:`status` says UPDATE_REQUIRED while this app is older. Sync thread."""
        self._store.save_update_required(oldest)
        with self._lock:
            self._update_to = oldest

    def note_revoked(self, mode: str) -> None:
        """The server said this tablet is revoked (the caller saved it). Any thread."""
        with self._lock:
            self._revoked = mode

    def persist_floor(self) -> None:
        """Saves the elapsed time as the floor, so a restart with the clock set back cannot
        shorten it. Sync or worker thread."""
        with self._lock:
            contact = self._contact
            if contact is None:
                return
            elapsed = self._elapsed(contact)
            if elapsed <= contact.elapsed_floor:
                return
            raised = Contact(contact.server_time, contact.device_time, elapsed)
            self._contact = raised
        self._store.save_contact(raised)

    # ---- pure (any thread) --------------------------------------------------------------------
    def _elapsed(self, contact: Contact) -> float:
        """Seconds since the contact (lock held)."""
        mono = self._clock.monotonic()
        wall = (self._clock.now() - contact.device_time).total_seconds()
        if self._base is None:
            self._base = (mono, max(contact.elapsed_floor, wall, 0.0))
        base_mono, base_elapsed = self._base
        return max(contact.elapsed_floor, wall, base_elapsed + (mono - base_mono), 0.0)

    def status(self) -> OfflineStatus:
        """Where the tablet stands now (memory only)."""
        hours = self._hours()
        with self._lock:
            if self._revoked is not None:
                return OfflineStatus(OfflineState.REVOKED, timedelta(0), None, hours)
            update_to = self._update_to
            if update_to is not None and this_app_older_than(update_to):
                return OfflineStatus(
                    OfflineState.UPDATE_REQUIRED, timedelta(0), None, hours, update_to
                )
            contact = self._contact
            if contact is None:
                if self._enrolled:  # enrolled, nothing known: the most restrictive reading
                    return OfflineStatus(OfflineState.EXPIRED, timedelta(0), None, hours)
                return OfflineStatus(OfflineState.NOT_ENROLLED, limit_hours=hours)
            elapsed = timedelta(seconds=self._elapsed(contact))
        limit = timedelta(hours=hours)
        remaining = max(limit - elapsed, timedelta(0))
        deadline = contact.server_time + limit
        if remaining <= timedelta(0):
            state = OfflineState.EXPIRED
        elif remaining <= LAST_DAY:
            state = OfflineState.LAST_DAY
        else:
            state = OfflineState.OK
        return OfflineStatus(state, remaining, deadline, hours)


class NoOfflineLimit:
    """A :class:`ContactStore` for a tablet without a server: never limited."""

    def load_contact(self) -> Contact | None:
        return None

    def save_contact(self, contact: Contact) -> None:
        return None

    def enrolled(self) -> bool:
        return False

    def revocation_mode(self) -> str | None:
        return None

    def update_required(self) -> str | None:
        return None

    def save_update_required(self, oldest: str | None) -> None:
        return None
