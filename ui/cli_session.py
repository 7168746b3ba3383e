"""Signing in at the terminal for commands that act as a person (prints, exports, imports).

The same password + TOTP sign-in as the app (throttling, lockout and audit included). Secrets
are read with ``getpass`` on a terminal, or one per line from standard input for scripts;
they are never taken from arguments or environment variables, and never printed.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mar_desktop.clock import SystemClock
from mar_desktop.errors import AuthError
from mar_desktop.people.auth import AuthService, LoginStep
from mar_desktop.people.sessions import SessionManager
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from storage.credentials import SqlCredentialStore
from storage.keystore import KeyStore
from storage.local_store import LocalStore


@dataclass(frozen=True)
class SignedIn:
    store: LocalStore
    ports: Ports
    principal: Principal


def _ask(prompt: str, *, secret: bool) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt) if secret else input(prompt)
    line = sys.stdin.readline()
    if not line:
        raise AuthError("Sign-in needs a password and an authenticator code on standard input.")
    return line.rstrip("\n")


@contextmanager
def open_store(data_dir: Path) -> Iterator[LocalStore]:
    store = LocalStore.open(data_dir, KeyStore(data_dir))
    try:
        yield store
    finally:
        store.close()


@contextmanager
def signed_in(data_dir: Path, username: str) -> Iterator[SignedIn]:
    """Opens the store and signs ``username`` in; signs out and closes on exit."""
    clock = SystemClock()
    with open_store(data_dir) as store:
        ports = Ports(store.ledger, store.reader, clock)
        facility = ports.reader().facility()
        sessions = SessionManager(clock, store.device_id, facility.settings if facility else None)
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
                yield SignedIn(store, ports, session.principal)
            finally:
                auth.logout()
        finally:
            credentials.close()
