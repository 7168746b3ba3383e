"""Entry script of the packaged app (PyInstaller runs this file; see ``mar-desktop.spec``).

Everything goes to :func:`ui.cli.main.main` (the same entry point as the ``mar-desktop`` console
script), except one hidden diagnostic option that exists so packaging can be checked headless:

``mar-desktop --self-test-gui [--timeout SECONDS]``
    Starts the real GUI (``ui.startup.run_gui``) on the throwaway in-memory-keyed demo facility
    (nothing persists: the demo folder is a fresh temporary folder that is deleted on exit),
    waits until the main window is shown with the login screen current AND the encrypted
    database has been opened (sign-in enabled), prints ``self-test: login window ready`` and
    exits 0. Exits 3 on timeout (default 120 s) and 4 if start-up failed (the app's own
    message is printed) or raised an unexpected exception. Uses the offscreen Qt platform
    unless ``QT_QPA_PLATFORM`` is set.

This file is not a module of the project (``packaging/`` has no ``__init__.py`` on purpose) and
edits nothing under ``ui/``; it only drives the app's public objects.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

SELF_TEST = "--self-test-gui"
READY = "self-test: login window ready"
EXIT_TIMEOUT = 3
EXIT_FAILED = 4
POLL_MS = 50


def self_test_gui(timeout_s: float = 120.0) -> int:
    """See the module doc. Runs on the main thread; returns the exit status."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import time

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow
    from ui.startup import run_gui

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    outcome: dict[str, int] = {}
    original_failed = MainWindow.startup_failed

    def failed(window: MainWindow, message: str) -> None:
        original_failed(window, message)
        print(f"self-test: start-up failed: {message}", file=sys.stderr, flush=True)
        outcome["code"] = EXIT_FAILED
        qapp.exit(EXIT_FAILED)

    def unexpected(kind: type[BaseException], error: BaseException, tb: object) -> None:
        sys.__excepthook__(kind, error, tb)  # type: ignore[arg-type]
        print("self-test: unexpected error during start-up", file=sys.stderr, flush=True)
        outcome["code"] = EXIT_FAILED
        qapp.exit(EXIT_FAILED)

    MainWindow.startup_failed = failed  # type: ignore[method-assign]
    sys.excepthook = unexpected
    deadline = time.monotonic() + timeout_s

    def poll() -> None:
        for widget in QApplication.topLevelWidgets():
            if (
                isinstance(widget, MainWindow)
                and widget.isVisible()
                and widget.root.currentWidget() is widget.login
                and widget.ctx is not None
                and widget.login.sign_in_button.isEnabled()
            ):
                print(READY, flush=True)
                outcome["code"] = 0
                qapp.exit(0)
                return
        if time.monotonic() > deadline:
            print("self-test: the login window did not become ready in time", file=sys.stderr)
            outcome["code"] = EXIT_TIMEOUT
            qapp.exit(EXIT_TIMEOUT)
            return
        QTimer.singleShot(POLL_MS, poll)

    QTimer.singleShot(POLL_MS, poll)
    try:
        code = run_gui(None, demo=True)
    finally:
        MainWindow.startup_failed = original_failed  # type: ignore[method-assign]
        sys.excepthook = sys.__excepthook__
    return outcome.get("code", code if code else EXIT_FAILED)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if SELF_TEST in args:
        timeout = 120.0
        if "--timeout" in args:
            timeout = float(args[args.index("--timeout") + 1])
        return self_test_gui(timeout)
    from ui.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        import multiprocessing

        multiprocessing.freeze_support()  # storage.verify uses a process pool
    sys.exit(main())
