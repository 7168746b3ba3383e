"""UI test fixtures: offscreen Qt, the themed main window on a controlled facility, and
helpers to sign in and wait for background work."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import QThread, QTimer
from PySide6.QtWidgets import QApplication

from tests.ui import offscreen_screen
from tests.ui.harness import Facility1, build_facility
from tests.ui.qt_leaks import qt_left_running
from ui import theme
from ui.errors import ErrorPresenter
from ui.lag import EventLoopLagMonitor
from ui.main_window import MainWindow
from ui.startup import gui_deferral
from ui.tasks import TaskRunner

T = TypeVar("T")
offscreen_screen.configure()  # before the first QApplication (pytest-qt makes it later)


@pytest.fixture(autouse=True)
def no_qt_timer_or_thread_left(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Fails a test that leaves a QTimer active or a QThread running that was started during it
    (after pytest-qt closed its widgets and every fixture shut down what it owns). Timers and
    threads the app starts are owned and stopped on shutdown; one left behind keeps firing into
    a closed window or a closed store."""
    timers: list[QTimer] = []
    threads: list[QThread] = []
    timer_start = QTimer.start
    thread_start = QThread.start

    def start_timer(timer: QTimer, *args: object) -> None:
        timers.append(timer)
        timer_start(timer, *args)  # type: ignore[arg-type]

    def start_thread(thread: QThread, *args: object) -> None:
        threads.append(thread)
        thread_start(thread, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(QTimer, "start", start_timer)
    monkeypatch.setattr(QThread, "start", start_thread)
    yield
    left = qt_left_running(timers, threads)
    if left:
        pytest.fail(f"{request.node.nodeid} left running: {', '.join(left)}", pytrace=False)


@pytest.fixture
def runner(qapp: QApplication) -> Iterator[TaskRunner]:
    """The one task runner, as the app has it (shut down by the window fixture)."""
    made = TaskRunner()
    yield made
    made.shutdown()


@pytest.fixture
def facility(tmp_path: Path, memory_keyring: object, runner: TaskRunner) -> Iterator[Facility1]:
    built = build_facility(tmp_path, defer=gui_deferral(runner))
    try:
        yield built
    finally:
        pass  # the window fixture closes the backend on the worker thread


@pytest.fixture
def window(qtbot: object, facility: Facility1, runner: TaskRunner) -> Iterator[MainWindow]:
    app = QApplication.instance()
    assert app is not None
    theme.apply(app)  # type: ignore[arg-type]
    errors = ErrorPresenter()
    runner.default_failure = errors.show
    win = MainWindow(runner, facility.clock, errors)
    win.resize(1280, 800)
    qtbot.addWidget(win)  # type: ignore[attr-defined]
    win.show()
    win.attach(facility.backend)
    qtbot.waitUntil(lambda: win.is_ready)  # type: ignore[attr-defined]
    try:
        yield win
    finally:
        win.shutdown()
        runner.run_on_worker(facility.backend.close)
        runner.shutdown()


@pytest.fixture
def lag(window: MainWindow) -> Iterator[EventLoopLagMonitor]:
    from tests.ui.steps import MONITORS

    monitor = EventLoopLagMonitor(window)
    monitor.start()
    MONITORS.append(monitor)
    try:
        yield monitor
    finally:
        MONITORS.remove(monitor)
        monitor.stop()


_ARMED = [False]  # True while a test body runs (fixtures may build stores on the main thread)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    _ARMED[0] = True
    try:
        yield
    finally:
        _ARMED[0] = False


@pytest.fixture(autouse=True)
def no_io_on_the_gui_thread(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every UI test: no database connection is opened, nothing is written through the ledger
    and no HTTP request is sent on the GUI thread. Reader connections only work on the thread
    that opened them, so the first check covers every read; the ledger's writer connection is
    shared between threads (under its lock), so its calls are watched themselves. This is how
    sync or database work could block the GUI; the test fails if any screen, callback or timer
    tries."""
    import threading

    import httpx

    import storage.database as database
    from storage.ledger import Ledger

    if not {"window", "qtbot"} & set(request.fixturenames):
        yield  # a test without a GUI (e.g. the demo bootstrap itself) may use the main thread
        return
    gui = threading.main_thread()
    seen: list[str] = []

    def on_gui() -> bool:
        return _ARMED[0] and threading.current_thread() is gui
    check_library = database.check_library
    send = httpx.Client.send

    def guarded_check_library() -> None:
        if on_gui():
            seen.append("database connection")
        check_library()

    def guarded_send(self: httpx.Client, *args: object, **kwargs: object) -> httpx.Response:
        if on_gui():
            seen.append("HTTP request")
        return send(self, *args, **kwargs)  # type: ignore[arg-type]

    on_writer = Ledger._on_writer

    def guarded_on_writer(self: Ledger, fn: Callable[..., T], *args: object) -> T:
        if on_gui():
            seen.append("ledger write or read on the writer connection")
        return on_writer(self, fn, *args)

    monkeypatch.setattr(database, "check_library", guarded_check_library)
    monkeypatch.setattr(Ledger, "_on_writer", guarded_on_writer)
    monkeypatch.setattr(httpx.Client, "send", guarded_send)
    yield
    assert not seen, f"on the GUI thread: {sorted(set(seen))}"
