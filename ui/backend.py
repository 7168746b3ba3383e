"""What the screens need from the layers below, gathered in one object the composition root
builds (:mod:`ui.app`) and tests build from fakes.

Everything on :class:`Backend` except ``sessions`` is called on the TaskRunner worker thread,
never on the GUI thread. ``sessions`` (the in-memory :class:`SessionManager`) is thread-safe and
cheap; the GUI thread reads it (trivial reads) to get the principal before submitting work.

:class:`AuthPort` is the small surface the screens need for signing in.
:class:`mar_desktop.people.auth.AuthService` implements it (directly or through a thin adapter in
``ui.app``); the tests use an in-memory fake. Every method raises
:class:`~mar_desktop.errors.AuthError` (or a subclass: ``AccountLocked``, ``Throttled``) or
``PasswordRejected`` with safe messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mar_desktop.kinds import WitnessAttestation
from mar_desktop.model import User
from mar_desktop.people.sessions import SessionManager
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports

if TYPE_CHECKING:  # imported by the worker when the store opens, not before the login window
    from mar_desktop.services.mar import MarService
    from mar_desktop.services.recording import RecordingService
    from mar_desktop.services.reference import ReferenceService
from sync.status import SyncStatus  # what the status bar shows


@dataclass(frozen=True, slots=True)
class SignInResult:
    """Where a sign-in stands. The session is started (``sessions.start``) by the call that
    completes the last required step; until then ``must_*`` says what is still needed."""

    user: User
    must_change_password: bool = False
    must_enrol_totp: bool = False
    must_sign_in_again: bool = False  # e.g. password changed, code still needed

    @property
    def complete(self) -> bool:
        return not (self.must_change_password or self.must_enrol_totp or self.must_sign_in_again)


@dataclass(frozen=True, slots=True)
class TotpSetup:
    """A pending TOTP enrolment: the provisioning URI (for the QR code) and the manual key.
    Holds a secret: never log it, drop it when the screen closes."""

    uri: str = field(repr=False)
    manual_key: str = field(repr=False)
    token: object = field(repr=False, default=None)  # opaque, handed back on confirmation


class AuthPort(Protocol):
    """Sign-in, unlock, witness and emergency access. Worker thread only."""

    def sign_in(self, username: str, password: str, code: str) -> SignInResult: ...

    def sign_in_with_recovery(
        self, username: str, password: str, recovery_code: str
    ) -> SignInResult: ...

    def change_password(self, user_id: str, new: str) -> SignInResult:
        """Replaces the temporary password of the sign-in in progress (PasswordRejected)."""
        ...

    def start_totp_enrolment(self, user_id: str) -> TotpSetup: ...

    def confirm_totp_enrolment(
        self, user_id: str, setup: TotpSetup, code: str
    ) -> tuple[SignInResult, list[str]]:
        """Returns the sign-in state and the ten recovery codes (shown once)."""
        ...

    def unlock(self, user_id: str, password: str) -> None:
        """The same user, password only: LOCKED -> ACTIVE (``sessions.mark_unlocked``)."""
        ...

    def reauthenticate(self, user_id: str, password: str, code: str) -> None:
        """Full sign-in of the session's user when re-authentication is due."""
        ...

    def witness_sign_in(
        self, principal: Principal, username: str, password: str, code: str
    ) -> WitnessAttestation: ...

    def grant_emergency_access(
        self, principal: Principal, reason: str, unit_ids: list[str]
    ) -> None: ...

    def sign_out(self, reason: str = "logout") -> None: ...


class SyncStatusSource(Protocol):
    """The sync engine's status (:class:`ui.sync_link.SyncLink`). Any thread; must be cheap.
    ``Backend.sync_status`` is None on a tablet not enrolled with a server."""

    def status(self) -> SyncStatus: ...


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """One row of the login screen's demo panel. ``code`` gives the live TOTP code."""

    name: str
    role: str
    username: str
    password: str
    code: Callable[[], str] = field(repr=False)


@dataclass
class Backend:
    sessions: SessionManager
    auth: AuthPort
    ports: Ports
    mar: MarService
    recording: RecordingService
    reference: ReferenceService
    sync_status: SyncStatusSource | None = None
    close: Callable[[], None] = lambda: None
    store: object | None = None  # the open storage.local_store.LocalStore (worker-thread use)
    user_names: dict[str, str] = field(default_factory=dict)  # user id -> printed name (cache)

    def user_name(self, user_id: str) -> str:
        """Printed name of a user (worker thread: reads the read model on a cache miss)."""
        name = self.user_names.get(user_id)
        if name is None:
            user = self.ports.reader().user(user_id)
            name = f"{user.full_name}, {user.credentials}".rstrip(", ") if user else user_id
            self.user_names[user_id] = name
        return name


def build_services(ports: Ports) -> tuple[MarService, RecordingService, ReferenceService]:
    """The bedside services over ``ports``. Worker thread (imports them there)."""
    from mar_desktop.services.mar import MarService
    from mar_desktop.services.recording import RecordingService
    from mar_desktop.services.reference import ReferenceService

    return MarService(ports), RecordingService(ports), ReferenceService(ports)
