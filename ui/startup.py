"""Start-up and quit of the desktop app: building it, the demo path, the first-run path.

:func:`run_gui` (budget: process start to login window ≤ 1 s) creates the QApplication, the
theme, the task runner and the main window with the admin sections, SHOWS it, installs the
app-wide barcode-scanner filter (:mod:`ui.scanner`; scans go to ``MainWindow.route_scan``) and
only then, on the first turn of the event loop, has :class:`AppOwner` open the store:

- an existing data folder: :func:`open_backend` on the task runner's worker opens the encrypted
  database (an upgrade's steps are shown on the login screen) and builds the services
  (:func:`ui.app.opened_store`);
- the demo (``--demo``, or "Start the demo" on the first-run screen): :func:`open_backend`
  starts the embedded server, enrols and seeds a throwaway tablet (:func:`ui.demo.start_demo`);
- a data folder without a database: the first-run screen (:mod:`ui.screens.first_run`);
  :func:`enrol_and_bootstrap` enrols the tablet and runs the first sync on the worker, which
  brings the facility's users, residents and orders.

Whatever was opened reaches :meth:`AppOwner.ready` on the GUI thread: the backend is attached
to the window (the login screen is enabled) and an enrolled store's sync engine is wrapped in a
:class:`ui.sync_link.SyncLink` and started. The worker-side functions import storage, sync and
:mod:`ui.app` when they run, so none of it is loaded before the window shows.

Quitting (:meth:`AppOwner.shutdown`, GUI thread) stops the window's timers, stops the sync
engine (joins its thread), ends the session (audited) and closes the store on the worker,
stops the worker, and last runs each opening's cleanup (the demo: embedded server stopped,
folder deleted). SIGTERM and SIGINT quit the same way. Logs nothing PHI.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from mar_desktop.clock import Clock, ServerCorrectedClock, SystemClock
from mar_desktop.errors import DatabaseMissing
from ui import admin, theme
from ui.errors import ErrorPresenter, describe
from ui.main_window import MainWindow
from ui.scanner import ScannerFilter
from ui.screens import verification_section
from ui.sync_link import SyncLink
from ui.tasks import Progress, TaskRunner

if TYPE_CHECKING:
    from ui.app import Defer, Opened
    from ui.screens.first_run import EnrolForm, FirstRunScreen

log = logging.getLogger(__name__)
_IMPORTED = time.perf_counter()
DEMO_DAYS = 7  # the demo's history; tests make it smaller
DEMO_RESIDENTS_PER_UNIT = 20


# ---- worker thread ---------------------------------------------------------------------------
def open_backend(
    data_dir: Path | None,
    demo: bool,
    clock: Clock,
    defer: Defer | None = None,
    progress: Progress | None = None,
) -> Opened:
    """Opens the store (or, for the demo, starts the embedded server, enrols and seeds a
    throwaway tablet), builds the backend and, when the store is enrolled, the (not yet
    started) sync engine. Worker thread. ``progress`` (the task runner's) gets what an upgrade
    of the database is doing, for the login screen.

    Raises ``DatabaseMissing`` when ``data_dir`` has no database yet (the first-run screen)."""
    from ui import app

    if demo:
        from ui import demo as demo_site

        site = demo_site.start_demo(
            clock, days=DEMO_DAYS, residents_per_unit=DEMO_RESIDENTS_PER_UNIT
        )
        try:
            opened = app.opened_store(site.store, clock, defer, demo=True)
        except BaseException:
            site.close()
            raise
        opened.demo_accounts = app.demo_accounts_of(site.seeded.staff, clock)
        opened.cleanup = site.close
        opened.notice = site.notice
        return opened
    from storage.keystore import KeyStore
    from storage.local_store import LocalStore

    assert data_dir is not None
    step = None if progress is None else (lambda text: progress(0.0, text))
    store = LocalStore.open(data_dir, KeyStore(data_dir), on_progress=step)
    return app.opened_store(store, clock, defer)


def enrol_and_bootstrap(
    data_dir: Path, clock: Clock, form: EnrolForm, defer: Defer | None = None,
    progress: Progress | None = None,
) -> Opened:
    """Worker thread: enrols (a new database in ``data_dir``), runs the first sync (the
    facility arrives with it) and opens the backend. A failed first sync is not fatal: the
    tablet is enrolled, the engine keeps retrying, the login screen says so."""
    from storage.keystore import KeyStore
    from sync.engine import SyncEngine
    from sync.enroll import enroll, read_ca_file
    from ui import app
    from ui.screens.first_run import enrolment_message

    ca_pem = read_ca_file(form.ca_file)
    store = enroll(
        data_dir, KeyStore(data_dir),
        server_url=form.url, code=form.code, pin=form.pin, ca_pem=ca_pem, clock=clock,
    )
    notice = ""
    try:
        if progress is not None:
            progress(0.3, "Enrolled. Fetching the facility's staff, residents and orders…")
        first = SyncEngine(store, clock=clock)
        try:
            first.sync_once()
        except Exception as error:  # enrolled anyway; the engine retries
            notice = f"Enrolled, but the first sync failed: {enrolment_message(error)}"
        finally:
            first.close()
    except BaseException:
        store.close()
        raise
    opened = app.opened_store(store, clock, defer)
    opened.notice = notice
    return opened


def gui_deferral(runner: TaskRunner) -> Defer:
    """A ``defer`` for :func:`ui.app.build_backend`: on the GUI thread, queue the write on the
    task runner's worker; on any other thread (the worker itself), write at once."""

    def defer(write: Callable[[], None]) -> None:
        app = QCoreApplication.instance()
        if app is not None and QThread.currentThread() is app.thread():
            runner.submit(write)
        else:
            write()

    return defer


# ---- GUI thread ------------------------------------------------------------------------------
class AppOwner:
    """Opens the backend on the worker and owns what was opened until quit. GUI thread."""

    def __init__(self, window: MainWindow, runner: TaskRunner, clock: Clock,
                 data_dir: Path | None) -> None:
        self.window = window
        self.runner = runner
        self.clock = clock
        self.data_dir = data_dir
        self.defer = gui_deferral(runner)
        self.opened: list[Opened] = []  # delivered to the GUI
        self._made: list[Opened] = []  # made on the worker (appended there; may be undelivered)
        self.links: list[SyncLink] = []
        self.first_run: FirstRunScreen | None = None

    # ---- opening --------------------------------------------------------------------------
    def open(self, demo: bool) -> None:
        status = "Creating the demo facility…" if demo else "Opening the secure database…"
        self.window.login.set_auth(None, status)
        data_dir, clock, defer = self.data_dir, self.clock, self.defer
        self.runner.submit(
            lambda progress, handle: self._track(
                open_backend(data_dir, demo, clock, defer, progress=progress)
            ),
            on_success=self.ready,
            on_failure=self._open_failed,
            on_progress=self._opening_progress,
            with_progress=True,
        )

    def _opening_progress(self, _fraction: float, text: str) -> None:
        """GUI thread: what opening is doing now (a database upgrade's steps), on the login."""
        self.window.login.set_auth(None, text)

    def _track(self, result: Opened) -> Opened:
        """Worker: remembers what was opened, so quitting mid-start still closes it."""
        self._made.append(result)
        return result

    def ready(self, result: Opened) -> None:
        """GUI thread: attach the backend, then start syncing (login is already showing)."""
        self.opened.append(result)
        link = None
        if result.engine is not None:
            link = SyncLink(result.engine, self.window)
            result.backend.sync_status = link
            self.links.append(link)
        self.window.show_login()
        self.window.attach(result.backend, result.demo_accounts)
        if result.notice:
            self.window.login.banner.show_message("warning", result.notice)
        if link is not None:
            link.watch(self.runner.busy_changed)
            link.start()

    def _open_failed(self, error: BaseException) -> None:
        if isinstance(error, DatabaseMissing) and self.data_dir is not None:
            self.show_first_run()
            return
        self.window.startup_failed(describe(error).full())

    # ---- first run ------------------------------------------------------------------------
    def show_first_run(self) -> None:
        from ui.screens.first_run import FirstRunScreen

        if self.first_run is None:
            self.first_run = FirstRunScreen()
            self.first_run.enrol_requested.connect(self.enrol)
            self.first_run.demo_requested.connect(self.start_demo)
        self.window.show_page(self.first_run)

    def enrol(self, form: EnrolForm) -> None:
        screen = self.first_run
        assert screen is not None
        assert self.data_dir is not None
        data_dir, clock, defer = self.data_dir, self.clock, self.defer
        self.runner.submit(
            lambda progress, handle: self._track(
                enrol_and_bootstrap(data_dir, clock, form, defer, progress)
            ),
            with_progress=True,
            on_progress=screen.progress,
            on_success=self.ready,
            on_failure=screen.failed,
        )

    def start_demo(self) -> None:
        if self.first_run is not None:
            self.first_run.working("Creating the demo facility…")
        self.window.show_login()
        self.open(demo=True)

    # ---- quit -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """See the module doc. Safe to call once the event loop has ended."""
        self.window.shutdown()
        for link in self.links:
            if not link.stop():
                log.warning("the sync engine did not stop in time")
        self.links.clear()
        for result in list(self.opened):
            self.runner.run_on_worker(result.backend.close)  # waits for a running task too
        self.runner.shutdown()
        for result in self._made:
            if all(result is not o for o in self.opened):  # made while quitting: unattached
                if result.engine is not None:
                    result.engine.close()
                result.backend.close()
            result.cleanup()
        self.opened.clear()
        self._made.clear()


def install_scanner(app: QCoreApplication, window: MainWindow, **options: Any) -> QObject:
    """Installs the app-wide barcode-scanner filter (:mod:`ui.scanner`) on ``app``, routing
    scans to ``window.route_scan``; returns it (the caller removes it at shutdown).
    ``options`` go to :class:`ui.scanner.ScannerFilter` (tests give a key clock)."""
    scanner = ScannerFilter(window.route_scan, **options)
    app.installEventFilter(scanner)
    return scanner


def since_process_start_ms() -> float:
    """Milliseconds since this process started (Linux: from /proc; elsewhere: since this
    module was imported, which misses only the interpreter's own start)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        return (boot - ticks / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError, AttributeError):
        return (time.perf_counter() - _IMPORTED) * 1000


def _configure_logging() -> None:
    """Log lines to stderr at ``MAR_LOG_LEVEL`` (default WARNING). Logs never hold PHI."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=os.environ.get("MAR_LOG_LEVEL", "WARNING").upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request: too chatty


def _quit_on_signals(app: QCoreApplication) -> QTimer:
    """SIGTERM/SIGINT quit the app the normal way (engine, store, demo server, folder all
    closed). Python runs signal handlers only when it gets control, so a 250 ms timer gives it
    that while Qt's loop waits. Returns the timer (the caller stops it)."""

    def handler(_signum: int, _frame: object) -> None:
        app.quit()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    pulse = QTimer()
    pulse.setInterval(250)
    pulse.timeout.connect(lambda: None)
    pulse.start()
    return pulse


def run_gui(data_dir: Path | None, demo: bool) -> int:
    """Runs the desktop app until the window closes (see the module doc). Main thread.
    Returns the exit status."""
    _configure_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("MAR Desktop")
    app.setDesktopFileName("mar-desktop")
    app.setWindowIcon(QIcon(str(theme.RESOURCES / "icons" / "mar-desktop.svg")))
    theme.apply(app)
    clock = ServerCorrectedClock(SystemClock())  # the sync engine corrects a clock found off
    runner = TaskRunner()
    errors = ErrorPresenter()
    runner.default_failure = errors.show
    window = MainWindow(runner, clock, errors)
    verification_section.register(window)  # "Verify orders", for nurses, directors, pharmacists
    admin.register(window)  # the admin screens' sidebar sections
    window.resize(1280, 800)
    window.show()
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
        pulse.stop()
        app.removeEventFilter(scanner)
        owner.shutdown()
    return int(code)
