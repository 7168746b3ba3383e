"""The admin screens' services, built once per backend on the worker thread.

:class:`~ui.backend.Backend` carries the clinical services; the admin screens also need the
account service, the audit reader, the report use cases and (for exports) the store's own
queries. :class:`AdminHub` builds them lazily on the TaskRunner worker the first time a screen
asks (``services()``), over the same open :class:`storage.local_store.LocalStore`, and chains
their close onto ``backend.close`` so they are closed before the store.

The store comes from ``backend.store`` when the backend carries one, else from the bound
``backend.ports.reader`` (``LocalStore.reader``).

Thread: ``services()`` and everything on :class:`AdminServices` run on the worker only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mar_desktop.errors import StorageError
from mar_desktop.permissions import Permission, Principal
from mar_desktop.services.base import Service

if TYPE_CHECKING:
    from mar_desktop.clock import Clock
    from mar_desktop.people.accounts import AccountService
    from mar_desktop.people.audit_query import AuditQueryService
    from mar_desktop.reports.gather import ReportService
    from mar_desktop.services.reference import ReferenceService
    from storage.local_store import LocalStore
    from ui.backend import Backend


class Guard(Service):
    """Permission checks for reads that have no service method: a refusal is audited (the
    shared :meth:`Service._require`) and raised."""

    def require(self, principal: Principal, permission: Permission, *, entity_type: str = "",
                entity_id: str = "") -> None:
        self._require(principal, permission, entity_type=entity_type, entity_id=entity_id)


@dataclass
class AdminServices:
    """Worker-thread services for the admin screens."""

    store: LocalStore
    clock: Clock
    reference: ReferenceService
    accounts: AccountService
    audit: AuditQueryService
    reports: ReportService
    credentials: Any  # storage.credentials.SqlCredentialStore (throttle state for the list)
    guard: Guard
    close: Any


def store_of(backend: Backend) -> LocalStore:
    """The open LocalStore behind ``backend`` (worker thread)."""
    from storage.local_store import LocalStore

    store = backend.store
    if not isinstance(store, LocalStore):
        raise StorageError("The admin tools need the local database, which is not open.")
    return store


def build_services(backend: Backend) -> AdminServices:
    """Account, audit and report services over the backend's store. Worker thread."""
    from mar_desktop.people.accounts import AccountService
    from mar_desktop.people.audit_query import AuditQueryService
    from mar_desktop.reports.gather import ReportService
    from storage.credentials import SqlAuditLog, SqlCredentialStore

    store = store_of(backend)
    ports = backend.ports
    credentials = SqlCredentialStore(store.connect_reader, ports.clock)
    audit_log = SqlAuditLog(store.connect_reader)

    def close() -> None:
        credentials.close()
        audit_log.close()

    return AdminServices(
        store=store,
        clock=ports.clock,
        reference=backend.reference,
        accounts=AccountService(ports, credentials, user_key=backend.sessions.user_key),
        audit=AuditQueryService(ports, audit_log),
        reports=ReportService(ports),
        credentials=credentials,
        guard=Guard(ports),
        close=close,
    )


class AdminHub:
    """One per main window: hands the screens their services (built on first use)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[int, AdminServices] = {}

    def services(self, backend: Backend) -> AdminServices:
        """Worker thread. Builds on first call for ``backend`` and chains the close."""
        with self._lock:
            found = self._built.get(id(backend))
            if found is not None:
                return found
            built = build_services(backend)
            self._built[id(backend)] = built
            original = backend.close

            def close() -> None:
                try:
                    built.close()
                finally:
                    self._built.pop(id(backend), None)
                    original()

            backend.close = close
            return built
