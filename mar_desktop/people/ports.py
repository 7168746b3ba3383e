"""Ports the people services need beyond the ledger and read model; ``storage`` implements them.

Same contract as :mod:`mar_desktop.ports`: called from a worker thread on that thread's
connection; raise only :class:`~mar_desktop.errors.MarError` subclasses. Neither port ever puts
a secret into an exception message or a log line.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from mar_desktop.envelope import Entry
from mar_desktop.people.statements import AccountRecord, HeldRecord
from mar_desktop.people.throttle import ThrottleState


class CredentialStore(Protocol):
    """Versioned credential records (encrypted at rest) and device-local sign-in state (failure
    counters, the last accepted TOTP step)."""

    def latest(self, user_id: str) -> HeldRecord | None:
        """The version of ``user_id``'s record in force (an unsigned version-1 record stored
        before signed statements, or the newest signed one that follows it), or None."""
        ...

    def history(self, user_id: str) -> list[HeldRecord]:
        """The versions in force, oldest first."""
        ...

    def append(self, record: AccountRecord) -> None:
        """Stores a version made on this device durably, after checking it is authorised
        (:func:`mar_desktop.people.authority.check_next`, origin LOCAL). Raises
        :class:`~mar_desktop.errors.Conflict` unless it follows the version in force,
        :class:`~mar_desktop.errors.CredentialRefused` when it is not authorised."""
        ...

    def throttle_state(self, user_id: str) -> ThrottleState:
        """This device's failure state for ``user_id`` (a fresh state if none)."""
        ...

    def save_throttle_state(self, user_id: str, state: ThrottleState) -> None:
        """Replaces this device's failure state for ``user_id`` durably."""
        ...

    def last_totp_step(self, user_id: str) -> int | None:
        """The highest TOTP time step accepted for ``user_id`` on this device, or None."""
        ...

    def save_totp_step(self, user_id: str, step: int) -> None:
        """Records ``step`` as accepted for ``user_id`` on this device (durably; a lower step
        than the stored one leaves it as it is). Device-local: never synced, never versioned."""
        ...


class AuditLog(Protocol):
    """Reading the audit chain (the ``audit`` table) for the audit viewer and export."""

    def audit_entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Collection[str] | None = None,
        limit: int | None = None,
        user_id: str | None = None,
        entity_id: str | None = None,
        entity_type: str | None = None,
        exclude_kinds: Collection[str] = (),
    ) -> list[Entry]:
        """Audit entries with ``since <= recorded_at < until``, ``kind`` in ``kinds`` and not in
        ``exclude_kinds`` and, for
        each of ``user_id``, ``entity_id`` and ``entity_type`` given, that body field equal to
        it (no filter where None), newest first, at most ``limit``. Filters and limit are
        applied where the entries are stored, so memory and time follow what matches, not the
        size of the log."""
        ...
