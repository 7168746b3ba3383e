"""The GUI side of start-up and quit, owned by the composition root (:func:`ui.app.run_gui`).

:class:`AppOwner` opens the backend on the task runner's worker (never the GUI thread), and on
success attaches it to the main window, wraps an enrolled store's sync engine in a
:class:`ui.sync_link.SyncLink` (status marshalled to the GUI thread) and starts it — the login
window is already showing by then. A data folder without a database gets the first-run screen
(:mod:`ui.screens.first_run`): enrolment (:func:`sync.enroll.enroll`) and the first sync,
which pulls the facility's users, residents and orders, run on the worker; the login screen
follows. "Start the demo" there opens the demo like ``--demo``.

:meth:`AppOwner.shutdown` is the quit order: window timers, sync engine stopped (its thread
joined), backend closed on the worker (session ended, store closed), worker stopped, and last
each opening's cleanup (the demo: embedded server ended, folder deleted). GUI thread only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ui.app import Opened, gui_deferral, open_backend, opened_store

if TYPE_CHECKING:
    from mar_desktop.clock import Clock
    from ui.main_window import MainWindow
    from ui.screens.first_run import EnrolForm, FirstRunScreen
    from ui.sync_link import SyncLink
    from ui.tasks import TaskRunner

log = logging.getLogger(__name__)


def enrol_and_bootstrap(
    data_dir: Path, clock: Clock, form: EnrolForm, defer: object = None, progress: object = None,
    handle: object = None, keystore: object = None,
) -> Opened:
    """Worker thread: enrols (a new database in ``data_dir``), runs the first sync (the
    facility arrives with it) and opens the backend. A failed first sync is not fatal: the
    tablet is enrolled, the engine keeps retrying, the login screen says so."""
    from storage.keystore import KeyStore
    from sync.engine import SyncEngine
    from sync.enroll import enroll, read_ca_file

    ca_pem = read_ca_file(form.ca_file)
    store = enroll(
        data_dir, keystore or KeyStore(data_dir),  # type: ignore[arg-type]
        server_url=form.url, code=form.code, pin=form.pin, ca_pem=ca_pem, clock=clock,
    )
    notice = ""
    try:
        if callable(progress):
            progress(0.3, "Enrolled. Fetching the facility's staff, residents and orders…")
        first = SyncEngine(store, clock=clock)
        try:
            first.sync_once()
        except Exception as error:  # enrolled anyway; the engine retries
            from ui.screens.first_run import enrolment_message

            notice = f"Enrolled, but the first sync failed: {enrolment_message(error)}"
        finally:
            first.close()
    except BaseException:
        store.close()
        raise
    opened = opened_store(store, clock, defer)  # type: ignore[arg-type]
    opened.notice = notice
    return opened


class AppOwner:
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
        self.keystore: object = None  # tests give a key store; None: the data folder's

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
        from ui.sync_link import SyncLink

        self.opened.append(result)
        link = None
        if result.engine is not None:
            link = SyncLink(result.engine, self.window)  # type: ignore[arg-type]
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
        from mar_desktop.errors import DatabaseMissing
        from ui.errors import describe

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
        data_dir, clock, defer, keystore = self.data_dir, self.clock, self.defer, self.keystore
        self.runner.submit(
            lambda progress, handle: self._track(enrol_and_bootstrap(
                data_dir, clock, form, defer, progress, handle, keystore
            )),
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
                stop = getattr(result.engine, "close", None)
                if stop is not None:
                    stop()
                result.backend.close()
            result.cleanup()
        self.opened.clear()
        self._made.clear()
