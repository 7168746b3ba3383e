"""Opening a database made by an older release: the login screen says the database is being
updated (it can take a minute with a year of history) instead of a bare "Opening…", and the
login is usable once the upgrade is done."""

from __future__ import annotations

from pathlib import Path

from mar_desktop.clock import FakeClock
from storage.database import connect, database_path
from storage.keystore import KeyStore
from storage.local_store import LocalStore
from storage.migrate import UPDATING, current_version, latest_version
from tests.storage.helpers import (
    back_to_release,
    back_to_version_6_administrations,
    mixed_history,
)
from ui.errors import ErrorPresenter
from ui.main_window import MainWindow
from ui.startup import AppOwner
from ui.tasks import TaskRunner


def _version_6_data_dir(data_dir: Path) -> None:
    """A closed store whose key is in the (test) key store, taken back to release 6."""
    keystore = KeyStore(data_dir)
    store = LocalStore.create(data_dir, keystore, "fac-1", FakeClock())
    try:
        mixed_history(store.ledger)
    finally:
        store.close()
    back_to_release(
        database_path(data_dir), keystore.load_existing(), 6, back_to_version_6_administrations
    )


def test_login_says_the_database_is_being_updated_then_opens(
    qtbot: object, tmp_path: Path, memory_keyring: object, runner: TaskRunner
) -> None:
    data_dir = tmp_path / "data"
    runner.run_on_worker(lambda: _version_6_data_dir(data_dir))
    window = MainWindow(runner, FakeClock(), ErrorPresenter())
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    shown: list[str] = []
    set_auth = window.login.set_auth

    def recording(auth: object, status: str = "") -> None:
        shown.append(status if auth is None else "<ready>")
        set_auth(auth, status)  # type: ignore[arg-type]

    window.login.set_auth = recording  # type: ignore[method-assign]
    owner = AppOwner(window, runner, FakeClock(), data_dir)
    try:
        owner.open(demo=False)
        qtbot.waitUntil(lambda: "<ready>" in shown, timeout=20_000)  # type: ignore[attr-defined]
        assert window.login.sign_in_button.isEnabled()
        assert runner.run_on_worker(lambda: _version_of(data_dir)) == latest_version()
    finally:
        owner.shutdown()
    steps = latest_version() - 6  # a version-6 database: every later migration is a step
    updates = [shown.index(UPDATING.format(step=k, steps=steps)) for k in range(1, steps + 1)]
    assert updates == sorted(updates) and updates[-1] < shown.index("<ready>"), shown


def _version_of(data_dir: Path) -> int:
    conn = connect(database_path(data_dir), KeyStore(data_dir).load_existing())
    try:
        return current_version(conn)
    finally:
        conn.close()
