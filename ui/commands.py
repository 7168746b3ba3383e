"""What each ``mar-desktop`` command does (the parsing is in :mod:`ui.cli`).

These run on the main thread of a command-line process (no GUI), so doing storage work here
directly is fine. They print no PHI: counts, ids and summaries only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mar_desktop.clock import FakeClock, SystemClock
from mar_desktop.demo.seed import SeedResult, seed_demo
from mar_desktop.demo.staff import DemoStaff
from mar_desktop.envelope import new_id
from mar_desktop.people.accounts import AccountService
from mar_desktop.people.passwords import PasswordHashing
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from storage.credentials import SqlCredentialStore
from storage.database import side_files
from storage.keystore import KeyStore
from storage.local_store import LocalStore
from storage.verify import verify_store


def _keystore(data_dir: Path) -> KeyStore:
    """The data folder's key store; an insecure one is announced by the key store's warning."""
    return KeyStore(data_dir)


def seed_into(store: LocalStore, *, days: int, residents_per_unit: int,
              progress: bool = False) -> SeedResult:
    """Seeds the demo facility into a freshly created ``store`` through the services, with
    every demo account ready to sign in (password set, TOTP enrolled)."""
    clock = FakeClock()
    ports = Ports(store.ledger, store.reader, clock)
    credentials = SqlCredentialStore(store.connect_reader, clock)
    accounts = AccountService(ports, credentials)
    hashing = PasswordHashing()

    def create_user(admin: Principal, member: DemoStaff) -> None:
        accounts.create_user(admin, member.user, member.password)

    def set_credentials(member: DemoStaff) -> None:
        latest = credentials.latest(member.user.user_id)
        if latest is None:
            accounts.install_credentials(member.user.user_id, member.password,
                                         totp_secret=member.totp_secret)
            return
        credentials.append(latest.revise(
            change="password_changed", at=clock.now(), by="system",
            device_id=store.device_id, password_hash=hashing.hash(member.password),
            must_change_password=False, totp_secret=member.totp_secret, totp_enrolled=True,
        ))

    def show(fraction: float, text: str) -> None:
        print(f"\r{text}: {fraction:5.0%}", end="", file=sys.stderr, flush=True)

    try:
        result = seed_demo(
            ports, device_id=store.device_id, facility_id=store.facility_id,
            create_user=create_user, set_credentials=set_credentials, days=days,
            residents_per_unit=residents_per_unit, real_clock=SystemClock(),
            progress=show if progress else None,
        )
    finally:
        credentials.close()
    if progress:
        print(file=sys.stderr)
    return result


def seed_demo_command(args: argparse.Namespace) -> int:
    """Creates the demo database in ``args.data_dir``. If seeding fails or is interrupted, the
    database this command just created is removed again (nothing half-seeded is left for the
    next run to call "already exists"); the error propagates."""
    data_dir: Path = args.data_dir
    store = LocalStore.create(data_dir, _keystore(data_dir), new_id(), SystemClock())
    try:
        result = seed_into(store, days=args.days, residents_per_unit=args.residents_per_unit,
                           progress=sys.stderr.isatty())
    except BaseException:
        store.close()
        _remove_new_database(store.path)
        raise
    store.close()
    stats = result.history
    print(
        f"Demo facility created in {data_dir}: {len(result.demo.units)} units, "
        f"{len(result.demo.residents)} residents, {len(result.demo.orders)} orders, "
        f"{stats.recorded} administrations over {args.days} days "
        f"({stats.voided} voided, {stats.amended} amended, {stats.followups} PRN follow-ups)."
    )
    return 0


def _remove_new_database(path: Path) -> None:
    """Deletes a database file this process created, with its WAL and shared-memory files."""
    for leftover in (path, *side_files(path)):
        leftover.unlink(missing_ok=True)


def verify(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    store = LocalStore.open(data_dir, _keystore(data_dir))
    try:
        conn = store.connect_reader()
        try:
            report = verify_store(conn)
        finally:
            conn.close()
    finally:
        store.close()
    print(report.summary())
    return 0 if report.ok else 5


def launch(args: argparse.Namespace) -> int:
    from ui.app import run_gui

    return run_gui(args.data_dir, demo=bool(args.demo))


