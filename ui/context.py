"""What every screen gets through its constructor: the task runner, the backend, the error
presenter, the clock, the change hub and the wristband scan in force. GUI thread only."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mar_desktop.clock import Clock
from mar_desktop.permissions import Permission, Principal, allowed
from ui.backend import Backend
from ui.changes import ChangeHub, changes_in
from ui.errors import ErrorPresenter
from ui.tasks import TaskHandle, TaskRunner
from ui.wristbands import WristbandMemory

T = TypeVar("T")


@dataclass
class UiContext:
    runner: TaskRunner
    backend: Backend
    errors: ErrorPresenter
    clock: Clock
    changes: ChangeHub = field(default_factory=ChangeHub)
    """Told of every change a :meth:`run` call wrote and every change a sync pulled."""
    wristbands: WristbandMemory = field(init=False)
    """The wristband scan in force and for how long (:mod:`ui.wristbands`), for every screen."""

    def __post_init__(self) -> None:
        self.wristbands = WristbandMemory(self.clock)

    def principal(self) -> Principal | None:
        """The active session's principal, or None when locked or signed out (trivial read)."""
        sessions = self.backend.sessions
        if sessions.is_locked():
            return None
        return sessions.principal()

    def may(self, permission: Permission) -> bool:
        principal = self.principal()
        return principal is not None and allowed(principal.role, permission)

    def run(
        self,
        work: Callable[[Principal], Any],
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> TaskHandle | None:
        """Runs ``work(principal)`` on the worker thread for the signed-in user. Does nothing
        (returns None) if the session is locked: nothing PHI is fetched for a locked screen.
        When ``work`` returns ledger entries (a service change), :attr:`changes` announces what
        they touched after ``on_success`` ran."""
        principal = self.principal()
        if principal is None:
            return None

        def succeeded(result: Any) -> None:
            stored_by = time.monotonic()  # the worker is done: what it wrote is committed
            if on_success is not None:
                on_success(result)
            self.changes.announce(changes_in(result), stored_by)

        return self.runner.submit(
            lambda: work(principal),
            on_success=succeeded,
            on_failure=on_failure or self.errors.show,
        )
