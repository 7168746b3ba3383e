"""Budget: sign-in on the tablet (password + TOTP, with its audit and credential writes):
median under 300 ms with the chosen Argon2id parameters, printed beside the figure."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from mar_desktop.clock import SystemClock
from mar_desktop.model import Facility, Role, User
from mar_desktop.people.accounts import AccountService
from mar_desktop.people.auth import AuthService
from mar_desktop.people.passwords import DEFAULT_ARGON2, PasswordHashing
from mar_desktop.people.sessions import SessionManager
from mar_desktop.people.totp import STEP_SECONDS, code_at
from mar_desktop.services.base import Ports
from mar_desktop.services.reference import ReferenceService
from storage.credentials import SqlCredentialStore
from storage.local_store import LocalStore
from tests.bench.table import Figure, median, timed_ms

PASSWORD = "copper kettle on a quiet porch"
SECRET = "3AAWWWQYTDQKJFIVOVAEPQNWN5KP5XNV"


class SteppingClock(SystemClock):
    """The real clock, moved one TOTP step per sign-in so every code is fresh (codes are
    single-use per step)."""

    offset = 0.0

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self.offset)


def run() -> list[Figure]:
    clock = SteppingClock()
    with tempfile.TemporaryDirectory() as folder:
        store = LocalStore.create(Path(folder) / "d", bytes(range(32)), "fac", clock)
        credentials = SqlCredentialStore(store.connect_reader, clock)
        try:
            ports = Ports(store.ledger, store.reader, clock)
            reference = ReferenceService(ports)
            reference.configure_facility(Facility(facility_id="fac", name="F", timezone="UTC"))
            reference.bootstrap_admin(User(user_id="a", username="admin", full_name="Dana W",
                                           initials="DW", role=Role.FACILITY_ADMIN))
            hashing = PasswordHashing()
            AccountService(ports, credentials, hashing).install_credentials(
                "a", PASSWORD, totp_secret=SECRET)
            auth = AuthService(ports, credentials, SessionManager(clock, store.device_id),
                               hashing=hashing)

            def sign_in() -> None:
                clock.offset += STEP_SECONDS
                challenge = auth.begin_login("admin", PASSWORD)
                auth.submit_totp(challenge, code_at(SECRET, clock.now()))
                auth.logout()

            logins = timed_ms(sign_in, 15)
            encoded = hashing.hash(PASSWORD)
            hash_only = timed_ms(lambda: hashing.verify(encoded, PASSWORD), 15)
        finally:
            credentials.close()
            store.close()
    return [Figure(f"sign-in, password + TOTP (median; {DEFAULT_ARGON2.describe()})",
                   median(logins), "ms", "< 300 ms", median(logins) < 300,
                   f"Argon2id verify alone {median(hash_only):.0f} ms")]
