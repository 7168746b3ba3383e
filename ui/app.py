"""The composition root: builds the app's objects and wires them together.

Start-up order (budget: process start to login window ≤ 1 s): create the QApplication, the
theme, the task runner and the main window, and SHOW it; only then, on the worker thread, open
the encrypted database (or create and seed the throwaway demo one) and build the services
(:func:`open_backend`). When that finishes the login screen is enabled. Heavy modules
(storage, services, people) are imported on the worker, not before the window shows.

An enrolled store gets a sync engine, started once the backend is attached (the login window
is showing); its status reaches the status bar through :class:`ui.sync_link.SyncLink`. A data
folder without a database shows the first-run screen. The GUI-side owner of all this is
:class:`ui.startup.AppOwner`; it logs nothing PHI.

The app-wide barcode-scanner filter (:mod:`ui.scanner`) is installed on the QApplication here
and removed on quit; it hands scans to ``MainWindow.route_scan``.

Quitting (``AppOwner.shutdown``) stops the window's timers, stops the sync engine (joins its
thread), ends the session (audited) and closes the store on the worker, stops the worker
(``TaskRunner.shutdown``), and last stops the demo's embedded server and deletes its folder.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication, QObject

    from mar_desktop.clock import Clock
    from mar_desktop.demo.staff import DemoStaff
    from ui.backend import Backend, DemoAccount
    from ui.main_window import MainWindow

log = logging.getLogger(__name__)
_IMPORTED = time.perf_counter()
DEMO_DAYS = 7  # the demo's history; tests make it smaller
DEMO_RESIDENTS_PER_UNIT = 20


@dataclass
class Opened:
    """What the worker hands the GUI once the store is open. ``engine``: the
    ``sync.engine.SyncEngine`` of an enrolled store (not started). ``cleanup`` runs last on
    quit, after the engine is stopped and the store closed (the demo: server stopped, folder
    deleted). ``notice``: a line for the login screen (e.g. demo without a server)."""

    backend: Backend
    demo_accounts: list[DemoAccount] = field(default_factory=list)
    engine: object | None = None
    cleanup: Callable[[], None] = lambda: None
    notice: str = ""


def build_backend(
    store: object,
    clock: Clock,
    *,
    sync_status: object = None,
    defer: Callable[[Callable[[], None]], None] | None = None,
) -> Backend:
    """Services over an open :class:`storage.local_store.LocalStore`. Worker thread.

    ``defer`` moves audit writes of session events that fire on the GUI thread (the
    inactivity lock) to the worker; see :func:`gui_deferral`."""
    from mar_desktop.people.access import AccessService
    from mar_desktop.people.auth import AuthService
    from mar_desktop.people.sessions import SessionManager
    from mar_desktop.services.base import Ports
    from storage.credentials import SqlCredentialStore
    from storage.local_store import LocalStore
    from ui.auth_adapter import AuthAdapter
    from ui.backend import Backend, build_services

    assert isinstance(store, LocalStore)
    ports = Ports(store.ledger, store.reader, clock)
    facility = ports.reader().facility()
    sessions = SessionManager(clock, store.device_id, facility.settings if facility else None)
    credentials = SqlCredentialStore(store.connect_reader, clock)
    auth = AuthService(ports, credentials, sessions, defer_audit=defer)
    mar, recording, reference = build_services(ports)

    def close() -> None:
        sessions.end("app_closed")
        credentials.close()
        store.close()

    return Backend(
        sessions=sessions,
        auth=AuthAdapter(auth, AccessService(auth)),
        ports=ports,
        mar=mar,
        recording=recording,
        reference=reference,
        sync_status=sync_status,  # type: ignore[arg-type]
        close=close,
        store=store,
    )


def gui_deferral(runner: object) -> Callable[[Callable[[], None]], None]:
    """A ``defer`` for :func:`build_backend`: on the GUI thread, queue the write on the task
    runner's worker; on any other thread (the worker itself), write at once."""
    from PySide6.QtCore import QCoreApplication, QThread

    from ui.tasks import TaskRunner

    assert isinstance(runner, TaskRunner)

    def defer(write: Callable[[], None]) -> None:
        app = QCoreApplication.instance()
        if app is not None and QThread.currentThread() is app.thread():
            runner.submit(write)
        else:
            write()

    return defer


def demo_accounts_of(staff: Iterable[DemoStaff], clock: Clock) -> list[DemoAccount]:
    from mar_desktop.people.totp import code_at
    from ui.backend import DemoAccount

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


def sync_engine_for(store: object, clock: Clock) -> object | None:
    """A :class:`sync.engine.SyncEngine` for ``store`` if it is enrolled with a server (its
    ``sync_server`` record), else None. Worker thread; not started.

    The engine (and with it httpx and the TLS stack, ~10 MB) is imported only for an enrolled
    store: a stand-alone tablet never loads it."""
    from storage.local_store import LocalStore
    from storage.sync_state import SyncState

    assert isinstance(store, LocalStore)
    state = SyncState(store.connect_reader, clock)
    try:
        enrolled = state.server() is not None
    finally:
        state.close()
    if not enrolled:
        return None
    from sync.engine import SyncEngine

    return SyncEngine(store, clock=clock)


def open_backend(
    data_dir: Path | None,
    demo: bool,
    clock: Clock,
    defer: Callable[[Callable[[], None]], None] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Opened:
    """Opens the store (or, for the demo, starts the embedded server, enrols and seeds a
    throwaway tablet: :func:`ui.demo.start_demo`), builds the backend and, when the store is
    enrolled, the (not yet started) sync engine. Worker thread. ``progress`` (the task
    runner's) gets what an upgrade of the database is doing, for the login screen.

    Raises ``DatabaseMissing`` when ``data_dir`` has no database yet (the first-run screen)."""
    from storage.keystore import KeyStore
    from storage.local_store import LocalStore

    if demo:
        from ui.demo import start_demo

        site = start_demo(clock, days=DEMO_DAYS, residents_per_unit=DEMO_RESIDENTS_PER_UNIT)
        try:
            backend = build_backend(site.store, clock, defer=defer)
            engine = sync_engine_for(site.store, clock)
        except BaseException:
            site.store.close()
            site.close()
            raise
        return Opened(
            backend,
            demo_accounts_of(site.seeded.staff, clock),
            engine=engine,
            cleanup=site.close,
            notice=site.notice,
        )
    assert data_dir is not None
    step = None if progress is None else (lambda text: progress(0.0, text))
    store = LocalStore.open(data_dir, KeyStore(data_dir), on_progress=step)
    return opened_store(store, clock, defer)


def opened_store(
    store: object, clock: Clock, defer: Callable[[Callable[[], None]], None] | None = None
) -> Opened:
    """The backend and sync engine over an open store (closed again on failure). Worker."""
    try:
        backend = build_backend(store, clock, defer=defer)
        return Opened(backend, engine=sync_engine_for(store, clock))
    except BaseException:
        store.close()  # type: ignore[attr-defined]
        raise


def _register_sections(window: MainWindow) -> None:
    """The admin screens (``ui.admin``) plug in here if present:
    ``ui.admin.register(window)`` calls ``window.add_section(...)``."""
    try:
        from ui import admin
    except ImportError:
        return
    register = getattr(admin, "register", None)
    if register is not None:
        register(window)


def since_process_start_ms() -> float:
    """Milliseconds since this process started (Linux: from /proc; elsewhere: since this
    module was imported, which misses only the interpreter's own start)."""
    try:
        import os

        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        return (boot - ticks / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError, AttributeError):
        return (time.perf_counter() - _IMPORTED) * 1000


def _configure_logging() -> None:
    """Log lines to stderr at ``MAR_LOG_LEVEL`` (default WARNING). Logs never hold PHI."""
    import os

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=os.environ.get("MAR_LOG_LEVEL", "WARNING").upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request: too chatty


def run_gui(data_dir: Path | None, demo: bool) -> int:
    """Runs the desktop app until the window closes. Returns the exit status."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from mar_desktop.clock import SystemClock
    from ui import theme
    from ui.errors import ErrorPresenter
    from ui.main_window import MainWindow
    from ui.tasks import TaskRunner

    _configure_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("MAR Desktop")
    app.setDesktopFileName("mar-desktop")
    from PySide6.QtGui import QIcon

    app.setWindowIcon(QIcon(str(theme.RESOURCES / "icons" / "mar-desktop.svg")))
    theme.apply(app)
    clock = SystemClock()
    runner = TaskRunner()
    errors = ErrorPresenter()
    runner.default_failure = errors.show
    window = MainWindow(runner, clock, errors)
    _register_sections(window)
    window.resize(1280, 800)
    window.show()
    from ui.startup import AppOwner

    owner = AppOwner(window, runner, clock, data_dir)
    window.login.set_auth(None, "Starting…")
    scanner = install_scanner(app, window)

    def shown() -> None:
        """First turn of the event loop: the window is on screen. Only now the worker starts
        opening the store, so its imports do not compete with the first frame."""
        log.info("login window shown after %.0f ms", since_process_start_ms())
        owner.open(demo)

    QTimer.singleShot(0, shown)
    pulse = _quit_on_signals(app)
    try:
        code = app.exec()
    finally:
        pulse.stop()  # type: ignore[attr-defined]
        app.removeEventFilter(scanner)
        owner.shutdown()
    return int(code)


def install_scanner(app: QCoreApplication, window: MainWindow, **options: Any) -> QObject:
    """Installs the app-wide barcode-scanner filter (:mod:`ui.scanner`) on ``app``, routing
    scans to ``window.route_scan``; returns it (the caller removes it at shutdown).
    ``options`` go to :class:`ui.scanner.ScannerFilter` (tests give a key clock)."""
    from ui.scanner import ScannerFilter

    scanner = ScannerFilter(window.route_scan, **options)
    app.installEventFilter(scanner)
    return scanner


def _quit_on_signals(app: object) -> object:
    """SIGTERM/SIGINT quit the app the normal way (engine, store, demo server, folder all
    closed). Python runs signal handlers only when it gets control, so a 250 ms timer gives it
    that while Qt's loop waits. Returns the timer (the caller stops it)."""
    import signal

    from PySide6.QtCore import QTimer

    def handler(_signum: int, _frame: object) -> None:
        app.quit()  # type: ignore[attr-defined]

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    pulse = QTimer()
    pulse.setInterval(250)
    pulse.timeout.connect(lambda: None)
    pulse.start()
    return pulse
