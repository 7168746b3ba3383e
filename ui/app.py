"""The composition root: the services the app runs on, built over an open store.

:func:`opened_store` builds the screens' :class:`~ui.backend.Backend` (sessions, sign-in, the
bedside and admin services) over an open :class:`~storage.local_store.LocalStore` and, for a store
enrolled with a server, its sync engine (not started yet); :class:`Opened` carries both to the
GUI thread, where :mod:`ui.startup` attaches them to the main window.

Worker thread (the task runner's), never the GUI's, and no Qt: :mod:`ui.startup` imports this
module on the worker once the login window is showing, so storage, the services and the people
modules load after the first frame. Logs nothing PHI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mar_desktop.clock import Clock
from mar_desktop.demo.staff import DemoStaff
from mar_desktop.people.access import AccessService, account_keys
from mar_desktop.people.auth import AuthService
from mar_desktop.people.held_keys import held_keys
from mar_desktop.people.offline import OfflineLimit
from mar_desktop.people.sessions import SessionManager
from mar_desktop.people.totp import code_at
from mar_desktop.services.base import Ports
from storage.credentials import SqlCredentialStore
from storage.local_store import LocalStore
from storage.offline_contact import SqlContactStore
from storage.sync_state import SyncState
from ui.auth_adapter import AuthAdapter
from ui.backend import AdminServices, Backend, DemoAccount, SyncStatusSource

if TYPE_CHECKING:
    from mar_desktop.services.access_report import AccessReportService
    from mar_desktop.services.demo_scans import DemoScanService
    from sync.engine import SyncEngine

Defer = Callable[[Callable[[], None]], None]


@dataclass
class Opened:
    """What the worker hands the GUI once the store is open. ``engine``: the sync engine of an
    enrolled store (not started). ``cleanup`` runs last on quit, after the engine is stopped
    and the store closed (the demo: server stopped, folder deleted). ``notice``: a line for the
    login screen (e.g. demo without a server)."""

    backend: Backend
    demo_accounts: list[DemoAccount] = field(default_factory=list)
    engine: SyncEngine | None = None
    cleanup: Callable[[], None] = lambda: None
    notice: str = ""


def build_backend(
    store: LocalStore,
    clock: Clock,
    *,
    sync_status: SyncStatusSource | None = None,
    defer: Defer | None = None,
    demo: bool = False,
) -> Backend:
    """The services over ``store``; the backend's ``close`` ends the session (audited) and
    closes the store. Worker thread.

    ``defer`` moves audit writes of session events that fire on the GUI thread (the
    inactivity lock) to the worker; see :func:`ui.startup.gui_deferral`. ``demo`` (``--demo``
    only) adds the demo scanner panel's service."""
    from mar_desktop.people.accounts import AccountService
    from mar_desktop.people.audit_query import AuditQueryService
    from mar_desktop.reports.exporting import ExportService
    from mar_desktop.reports.gather import ReportService
    from mar_desktop.services.admin_reads import AdminReads, DeviceIdentity
    from mar_desktop.services.assignment import AssignmentService
    from mar_desktop.services.mar import MarService
    from mar_desktop.services.recording import RecordingService
    from mar_desktop.services.reference import ReferenceService
    from mar_desktop.services.verification import VerificationService
    from storage.credentials import SqlAuditLog
    from storage.report_queries import ReportQueries

    ports = Ports(store.ledger, store.reader, clock)
    facility = ports.reader().facility()
    sessions = SessionManager(clock, store.device_id, facility.settings if facility else None)
    contacts = SqlContactStore(SyncState(store.connect_reader, clock))
    sessions.offline = OfflineLimit(
        clock, contacts, hours=lambda: sessions.settings.offline_signin_hours
    )
    credentials = SqlCredentialStore(store.connect_reader, clock)
    audit_log = SqlAuditLog(store.connect_reader)
    auth = AuthService(ports, credentials, sessions, defer_audit=defer)
    reference = ReferenceService(ports)
    reports = ReportService(ports)
    mar = MarService(ports)
    device = DeviceIdentity(store.device_id, store.facility_id, store.ledger.public_key_hex)

    def open_export_ledger() -> ReportQueries:  # one verifying process: the GUI's worker
        return ReportQueries(store.connect_reader(), verify_workers=1)

    def close() -> None:
        sessions.end("app_closed")
        credentials.close()
        audit_log.close()
        contacts.close()
        store.close()

    return Backend(
        sessions=sessions,
        auth=AuthAdapter(auth, AccessService(auth)),
        mar=mar,
        recording=RecordingService(ports, account_keys=account_keys(credentials)),
        reference=reference,
        admin=AdminServices(
            accounts=AccountService(ports, credentials, user_key=sessions.user_key),
            audit=AuditQueryService(ports, audit_log),
            reports=reports,
            exports=ExportService(reports, open_export_ledger),
            reads=AdminReads(ports, credentials, device),
            reference=reference,
            access=_access_reports(ports, store),
        ),
        verification=VerificationService(
            ports, user_key=sessions.user_key, held_keys=held_keys(credentials)
        ),
        sync_status=sync_status,
        demo_scans=_demo_scans(ports) if demo else None,
        close=close,
        assignments=AssignmentService(ports, mar.assignment_scope),
    )


def _access_reports(ports: Ports, store: LocalStore) -> AccessReportService:
    from mar_desktop.services.access_report import AccessReportService
    from storage.access_queries import AccessQueries

    return AccessReportService(ports, lambda: AccessQueries(store.connect_reader()))


def _demo_scans(ports: Ports) -> DemoScanService:
    from mar_desktop.services.demo_scans import DemoScanService

    return DemoScanService(ports)


def sync_engine_for(
    store: LocalStore, clock: Clock, offline: OfflineLimit | None = None
) -> SyncEngine | None:
    """A sync engine for ``store`` if it is enrolled with a server (its ``sync_server``
    record), else None. Worker thread; not started. It shares ``offline`` with the sessions
    and crypto-erases the store through its key store if the server revokes the tablet.

    The engine (and with it httpx and the TLS stack, ~10 MB) is imported only for an enrolled
    store: a stand-alone tablet never loads it."""
    state = SyncState(store.connect_reader, clock)
    try:
        enrolled = state.server() is not None
    finally:
        state.close()
    if not enrolled:
        return None
    from storage.erase import Eraser
    from sync.engine import SyncEngine

    data_dir = store.path.parent
    eraser = Eraser(data_dir, FolderKey(data_dir))
    return SyncEngine(store, clock=clock, offline=offline, eraser=eraser)


class FolderKey:
    """A data folder's key in the system key store, reached only to erase it: opening the key
    store earlier would refuse a store whose key is not kept there (the demo's is in memory and
    goes when the app quits). Raises what :meth:`storage.keystore.KeyStore.erase` raises, and
    ``InsecureKeystore`` where no key store may hold a key."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir

    def erase(self) -> None:
        from storage.keystore import KeyStore

        KeyStore(self._data_dir).erase()


def opened_store(
    store: LocalStore, clock: Clock, defer: Defer | None = None, *, demo: bool = False
) -> Opened:
    """The backend and sync engine over an open store (closed again on failure). Worker."""
    try:
        backend = build_backend(store, clock, defer=defer, demo=demo)
        return Opened(backend, engine=sync_engine_for(store, clock, backend.sessions.offline))
    except BaseException:
        store.close()
        raise


def demo_accounts_of(staff: Iterable[DemoStaff], clock: Clock) -> list[DemoAccount]:
    """The login screen's demo panel rows: each account with its live TOTP code."""

    def live_code(secret: str) -> Callable[[], str]:
        return lambda: code_at(secret, clock.now())

    return [
        DemoAccount(
            name=member.user.full_name,
            role=member.role_label,
            username=member.user.username,
            password=member.password,
            code=live_code(member.totp_secret),
        )
        for member in staff
    ]
