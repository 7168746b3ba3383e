"""Signing in at the terminal for commands that act as a person (prints, exports, imports).

The same password + TOTP sign-in as the app (throttling, lockout and audit included). Secrets
are read with ``getpass`` on a terminal, or one per line from standard input for scripts;
they are never taken from arguments or environment variables, and never printed.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from mar_desktop.clock import SystemClock
from mar_desktop.errors import AuthError, NotFound, ValidationError
from mar_desktop.model import Facility, Unit
from mar_desktop.people.auth import AuthService, LoginStep
from mar_desktop.people.held_keys import HeldKeys, held_keys
from mar_desktop.people.offline import OfflineLimit
from mar_desktop.people.sessions import SessionManager
from mar_desktop.permissions import Principal
from mar_desktop.reports.exporting import ExportService
from mar_desktop.reports.gather import ReportService
from mar_desktop.services.base import Ports
from mar_desktop.signing import DeviceSigner
from storage.credentials import SqlCredentialStore
from storage.local_store import LocalStore
from storage.offline_contact import SqlContactStore
from storage.report_queries import ReportQueries
from storage.sync_state import SyncState
from ui.cli.store import open_store


def _no_key(_user_id: str) -> DeviceSigner | None:
    return None


def _no_keys(_user_id: str) -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True)
class SignedIn:
    """``user_key``: the signed-in person's own key while signed in (None: none);
    ``held_keys``: the keys an account's records say the person held."""

    store: LocalStore
    ports: Ports
    principal: Principal
    user_key: Callable[[str], DeviceSigner | None] = _no_key
    held_keys: HeldKeys = _no_keys

    def facility(self) -> Facility:
        """This device's facility; ``NotFound`` before the first sync brought it."""
        facility = self.ports.reader().facility()
        if facility is None:
            raise NotFound("This device has no facility yet.")
        return facility

    def unit(self, wanted: str) -> Unit:
        """The unit named ``wanted`` (its id, or its name in any case); ``ValidationError``
        naming the units there are if none matches (bad input: exit 2)."""
        units = self.ports.reader().units()
        for unit in units:
            if wanted in (unit.unit_id, unit.name) or wanted.casefold() == unit.name.casefold():
                return unit
        names = ", ".join(u.name for u in units)
        raise ValidationError(f"No unit {wanted!r}; units are: {names}.")

    def window(self, since: date | datetime, until: date | datetime) -> tuple[datetime, datetime]:
        """A parsed ``--from`` and ``--to`` as UTC times: a bare date is the facility's
        midnight."""
        facility = self.facility()
        return _moment(since, facility), _moment(until, facility)

    def exports(self) -> ExportService:
        """The export service over this store (verification on every CPU)."""
        store = self.store
        return ExportService(ReportService(self.ports),
                             lambda: ReportQueries(store.connect_reader()))


def _moment(value: date | datetime, facility: Facility) -> datetime:
    """A parsed ``--from``/``--to`` as a UTC time: a date is the facility's midnight."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=facility.zone).astimezone(UTC)


def _ask(prompt: str, *, secret: bool) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt) if secret else input(prompt)
    line = sys.stdin.readline()
    if not line:
        raise AuthError("Sign-in needs a password and an authenticator code on standard input.")
    return line.rstrip("\n")


@contextmanager
def signed_in(data_dir: Path, username: str) -> Iterator[SignedIn]:
    """Opens the store and signs ``username`` in; signs out and closes on exit. Raises
    ``AuthError`` (wrong password or code, locked, first sign-in not finished) and the errors
    of :func:`ui.cli.store.open_store`."""
    clock = SystemClock()
    with open_store(data_dir) as store:
        ports = Ports(store.ledger, store.reader, clock)
        facility = ports.reader().facility()
        sessions = SessionManager(clock, store.device_id, facility.settings if facility else None)
        contacts = SqlContactStore(SyncState(store.connect_reader, clock))
        sessions.offline = OfflineLimit(
            clock, contacts, hours=lambda: sessions.settings.offline_signin_hours
        )
        credentials = SqlCredentialStore(store.connect_reader, clock)
        auth = AuthService(ports, credentials, sessions)
        try:
            challenge = auth.begin_login(username, _ask("Password: ", secret=True))
            if challenge.step is not LoginStep.TOTP:
                auth.cancel(challenge)
                raise AuthError(
                    "Finish your first sign-in in the app (new password and authenticator) "
                    "before using the command line."
                )
            session = auth.submit_totp(challenge, _ask("Authenticator code: ", secret=True))
            try:
                yield SignedIn(store, ports, session.principal, sessions.user_key,
                               held_keys(credentials))
            finally:
                auth.logout()
        finally:
            credentials.close()
            contacts.close()
