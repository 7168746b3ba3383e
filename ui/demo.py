"""``mar-desktop --demo``: the throwaway demo tablet and its embedded reference server.

:func:`start_demo` (worker thread, never the GUI's; no Qt here) makes a fresh temporary folder
and, in it:

1. starts the embedded ``mar-server`` child on loopback TLS 1.3 (:mod:`sync.server.embedded`)
   with a facility named like the demo facility, in its time zone;
2. enrols this tablet with it exactly as a real tablet is enrolled (:func:`sync.enroll.enroll`:
   the server assigns the device id and the facility id) into an encrypted database under a
   random key held only in memory;
3. syncs once, so the facility is the server's (only the server records a facility's
   configuration; a tablet's own would be refused);
4. seeds the demo facility (staff with passwords and TOTP, units, residents, orders, ``days`` of
   history) into that enrolled store through the services (:func:`seed_into`, which
   ``mar-desktop seed-demo`` uses too).

The caller then starts a :class:`sync.engine.SyncEngine` on the store, which pushes the seeded
history to the server in the background. When the server extra (fastapi, uvicorn) is not
installed (or in the packaged app, which leaves ``sync.server`` out) the demo still runs, on a
local store, and :attr:`DemoSite.notice` says sync is off.

:meth:`DemoSite.close` stops the server and deletes the folder; call it after the engine is
stopped and the store closed (the composition root's quit order).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mar_desktop.clock import Clock, FakeClock, SystemClock
from mar_desktop.demo.facility import demo_facility
from mar_desktop.demo.seed import SeedResult, seed_demo
from mar_desktop.demo.staff import DemoStaff
from mar_desktop.envelope import new_id
from mar_desktop.people import issue
from mar_desktop.people.accounts import AccountService
from mar_desktop.people.passwords import PasswordHashing
from mar_desktop.people.statements import AccountRecord
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.signing import DeviceSigner
from storage.credentials import SqlCredentialStore
from storage.local_store import LocalStore

if TYPE_CHECKING:
    from sync.server.embedded import EmbeddedServer

log = logging.getLogger(__name__)

NO_SERVER = (
    "Demo without a server: the embedded reference server is not part of this installation "
    "(pip install 'mar-desktop[server]' adds it), so this demo does not sync."
)


def seed_into(store: LocalStore, *, days: int, residents_per_unit: int,
              progress: Callable[[float, str], None] | None = None) -> SeedResult:
    """Seeds the demo facility into a freshly created ``store`` through the services, with
    every demo account ready to sign in (password set, TOTP enrolled). ``progress`` gets the
    fraction done and what is being written. Calling thread (writes through ``store.ledger``
    and the credential store); raises what the services and storage raise."""
    clock = FakeClock()
    ports = Ports(store.ledger, store.reader, clock)
    credentials = SqlCredentialStore(store.connect_reader, clock)
    keys: dict[str, DeviceSigner] = {}
    accounts = AccountService(ports, credentials, user_key=keys.get)
    params = PasswordHashing().params

    def create_user(admin: Principal, member: DemoStaff) -> None:
        accounts.create_user(admin, member.user, member.password)

    def set_credentials(member: DemoStaff) -> None:
        user_id = member.user.user_id
        latest = credentials.latest(user_id)
        if latest is None:  # the admin: installed on this tablet, with the admin's own key
            accounts.install_credentials(user_id, member.password,
                                         totp_secret=member.totp_secret)
            installed = credentials.latest(user_id)
            assert isinstance(installed, AccountRecord)
            key = issue.open_key(installed, member.password)
            assert key is not None
            keys[user_id] = key
            return
        # created by the admin with the demo password as temporary one: the member's first
        # sign-in, done here (their key bound, the demo authenticator secret enrolled)
        assert isinstance(latest, AccountRecord)
        for record in issue.first_sign_in(
            latest, member.password, member.password, member.totp_secret, params,
            at=clock.now(), device_id=store.device_id,
        ):
            credentials.append(record)

    try:
        return seed_demo(
            ports, device_id=store.device_id, facility_id=store.facility_id,
            create_user=create_user, set_credentials=set_credentials, days=days,
            residents_per_unit=residents_per_unit, real_clock=SystemClock(), progress=progress,
            awaiting_verification=True,  # the "Verify orders" screen has something to show
        )
    finally:
        credentials.close()


def server_available() -> bool:
    """The embedded server can run here: the server extra is installed and this is not the
    packaged app (its spec leaves ``sync.server`` out)."""
    try:
        from sync.server.embedded import available
    except ImportError:
        return False
    return available()


@dataclass
class DemoSite:
    folder: Path
    store: LocalStore
    seeded: SeedResult
    server: EmbeddedServer | None
    notice: str = ""

    def close(self) -> None:
        """Stops the server and deletes the folder (store already closed). Idempotent."""
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _take_the_servers_facility(store: LocalStore, clock: Clock) -> None:
    """One sync on this thread: pulls the facility the embedded server made. Raises SyncError."""
    from sync.engine import SyncEngine

    engine = SyncEngine(store, clock=clock)
    try:
        engine.sync_once()
    finally:
        engine.close()


def start_demo(
    clock: Clock, *, days: int = 7, residents_per_unit: int = 20, with_server: bool = True
) -> DemoSite:
    """See the module doc. On failure everything made so far is undone before raising."""
    folder = Path(tempfile.mkdtemp(prefix="mar-demo-"))
    server: EmbeddedServer | None = None
    store: LocalStore | None = None
    try:
        key = secrets.token_bytes(32)
        notice = ""
        if with_server and server_available():
            from sync.server.embedded import EmbeddedServer

            facility = demo_facility(residents_per_unit=1).facility
            server = EmbeddedServer.start(
                folder / "server", facility_name=facility.name, timezone=facility.timezone
            )
            from sync.enroll import enroll

            store = enroll(
                folder / "data",
                key,
                server_url=server.url,
                code=server.code,
                ca_pem=server.ca_pem,
                label="demo tablet",
                clock=clock,
            )
            _take_the_servers_facility(store, clock)
        else:
            notice = NO_SERVER if with_server else ""
            store = LocalStore.create(folder / "data", key, new_id(), clock)
        seeded = seed_into(store, days=days, residents_per_unit=residents_per_unit)
    except BaseException:
        if store is not None:
            store.close()
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return DemoSite(folder, store, seeded, server, notice)
