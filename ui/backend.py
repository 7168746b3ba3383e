"""The application facade: everything the screens may call, as typed services of the core. The
composition root (:func:`ui.app.build_backend`) builds it over an open store; screens never see
the store, the storage ports or SQL, so every read and write goes through a service that checks
the permission and audits (the import contracts in ``pyproject.toml`` forbid ``ui.screens``,
``ui.admin`` and ``ui.widgets`` to import ``storage`` or ``sync``).

Everything on :class:`Backend` except ``sessions`` and ``sync_status`` is called on the
TaskRunner worker thread, never on the GUI thread. ``sessions`` (the in-memory
:class:`SessionManager`) is thread-safe and cheap; the GUI thread reads it (trivial reads) to get
the principal before submitting work. ``sync_status`` is a cheap in-memory read, any thread.

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

from mar_desktop.clinical.witness import WitnessRequest, WitnessSignIn
from mar_desktop.kinds import WitnessAttestation
from mar_desktop.model import User
from mar_desktop.people.sessions import SessionManager
from mar_desktop.permissions import Principal
from mar_desktop.sync_status import SyncStatus  # what the status bar shows

if TYPE_CHECKING:  # imported by the worker when the store opens, not before the login window
    from mar_desktop.people.accounts import AccountService
    from mar_desktop.people.audit_query import AuditQueryService
    from mar_desktop.reports.exporting import ExportService
    from mar_desktop.reports.gather import ReportService
    from mar_desktop.services.access_report import AccessReportService
    from mar_desktop.services.admin_reads import AdminReads
    from mar_desktop.services.demo_scans import DemoScanService
    from mar_desktop.services.mar import MarService
    from mar_desktop.services.recording import RecordingService
    from mar_desktop.services.reference import ReferenceService


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

    def witness_for_record(
        self,
        principal: Principal,
        username: str,
        password: str,
        code: str,
        request: WitnessRequest,
    ) -> WitnessSignIn:
        """The witness signs in for the Schedule II dose or waste ``request`` names; writes the
        ``witness.attested`` entry the record must reference (AccessService)."""
        ...

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


@dataclass(frozen=True, slots=True)
class AdminServices:
    """The admin screens' services (worker thread): accounts, the audit log, prints, exports,
    the admin reads (:class:`~mar_desktop.services.admin_reads.AdminReads`) and the reference
    data (residents, orders, settings)."""

    accounts: AccountService
    audit: AuditQueryService
    reports: ReportService
    exports: ExportService
    reads: AdminReads
    reference: ReferenceService
    access: AccessReportService | None = None  # "Who saw this resident" (view_audit)


@dataclass
class Backend:
    """See the module docstring. ``close`` ends the session (audited) and closes the store:
    called once, on the worker, when the app quits or the store is replaced."""

    sessions: SessionManager
    auth: AuthPort
    mar: MarService
    recording: RecordingService
    reference: ReferenceService
    admin: AdminServices
    sync_status: SyncStatusSource | None = None
    demo_scans: DemoScanService | None = None  # ``--demo`` only: the demo scanner panel's data
    close: Callable[[], None] = lambda: None
    user_names: dict[str, str] = field(default_factory=dict)  # user id -> printed name (cache)

    def user_name(self, user_id: str) -> str:
        """Printed name of a user (worker thread: reads the read model on a cache miss)."""
        name = self.user_names.get(user_id)
        if name is None:
            name = self.user_names[user_id] = self.mar.printed_name(user_id)
        return name
