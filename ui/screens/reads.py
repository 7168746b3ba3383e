"""One read at a time for a screen that lists what the worker reads (the overview, the med pass).

:meth:`ScreenRead.refresh` runs the screen's read on the worker; a refresh asked for while a read
is under way reads once more when it ends (a burst of changes costs two reads, not one each).
``read_asked_at`` is what ``WorkArea.apply_changes`` compares with a change's ``stored_by``. A
result that arrives while the session is locked is dropped (nothing PHI is shown). GUI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from mar_desktop.permissions import Principal
from ui.context import UiContext

T = TypeVar("T")


class ScreenRead(Generic[T]):
    def __init__(
        self,
        ctx: UiContext,
        work: Callable[[], Callable[[Principal], T]],
        shown: Callable[[T], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """``work()`` is called on the GUI thread at each refresh and returns what runs on the
        worker (so it can capture the screen's current choices); ``shown`` and ``failed`` get
        the result or the error on the GUI thread."""
        self._ctx = ctx
        self._work = work
        self._shown = shown
        self._failed = failed
        self._loading = False
        self._read_again = False
        self.read_asked_at = 0.0
        """``time.monotonic()`` of the last read asked for."""

    def refresh(self) -> None:
        if self._loading:
            self._read_again = True
            return
        self.read_asked_at = time.monotonic()
        self._loading = True
        if self._ctx.run(self._work(), self._done, self._error) is None:
            self._loading = False  # locked: nothing is read

    def _done(self, result: T) -> None:
        self._loading = False
        if self._ctx.principal() is not None:  # locked while loading: show nothing
            self._shown(result)
        self._again_if_asked()

    def _error(self, error: BaseException) -> None:
        self._loading = False
        self._failed(error)
        self._again_if_asked()

    def _again_if_asked(self) -> None:
        if self._read_again:
            self._read_again = False
            self.refresh()
