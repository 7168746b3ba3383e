"""The med pass of a 60-resident unit on a year of history: reading it on the worker
(``MarService.pass_list``, ≤ 100 ms like opening a MAR) and filling its table on the GUI thread
(the stall budget, ≤ 50 ms), for the pass as it stands at the year's end and for a pass of 300
doses (the whole unit's 08:00 round, made by repeating the pass's doses). Offscreen Qt. The
verdict is on the median (the worst is shown beside it): on a shared machine single samples
spike; the GUI-stall row of ``gui_lag`` holds the worst case of the real flows, run alone."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import cast

from mar_desktop.clock import FakeClock
from mar_desktop.permissions import Principal
from mar_desktop.services.base import Ports
from mar_desktop.services.mar import MarService
from mar_desktop.services.pass_list import PassItem
from tests.bench.table import Figure, median, p99, timed_ms
from tests.bench.year import year_db


def run() -> list[Figure]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from ui.backend import Backend
    from ui.context import UiContext
    from ui.errors import ErrorPresenter
    from ui.screens.pass_list import PassListScreen
    from ui.tasks import TaskRunner

    year = year_db()
    clock = FakeClock(year.now)
    store = year.open(clock)
    try:
        read = store.reader()
        nurse = next(u for u in read.users() if u.username == "nurse")
        principal = Principal(user=nurse, device_id=store.device_id)
        mar = MarService(Ports(store.ledger, store.reader, clock))
        found = mar.pass_list(principal, year.unit_id)
        reads = timed_ms(lambda: mar.pass_list(principal, year.unit_id), 30)
        facility = mar.facility()
    finally:
        store.close()
    app = QApplication.instance() or QApplication([])
    runner = TaskRunner()
    try:
        # The screen's own read is not used here: only the GUI-thread part is timed.
        ctx = UiContext(runner, cast(Backend, None), ErrorPresenter(), clock)
        screen = PassListScreen(ctx)
        screen.resize(1280, 800)
        screen.show()

        def filler(items: list[PassItem]) -> Callable[[], None]:
            def fill() -> None:
                screen.items = list(items)
                screen._fill(facility)
                app.processEvents()
            return fill

        filler(list(found.items))()  # first paint: fonts and styles are loaded once
        fills = timed_ms(filler(list(found.items)), 20)
        round_items = list(found.items) * (300 // max(1, found.remaining) + 1)
        rounds = timed_ms(filler(round_items[:300]), 20)
        screen.close()
    finally:
        runner.shutdown()
    return [
        Figure(f"med pass read, 60-resident unit, year of history ({found.remaining} to do, "
               f"{found.done} done; median)", median(reads), "ms", "<= 100 ms",
               median(reads) <= 100, f"p99 {p99(reads):.1f} ms"),
        Figure("med pass shown on the GUI thread (median)", median(fills), "ms",
               "<= 50 ms", median(fills) <= 50, f"worst {p99(fills):.1f} ms"),
        Figure("med pass of 300 doses shown on the GUI thread (median)", median(rounds), "ms",
               "<= 50 ms", median(rounds) <= 50, f"worst {p99(rounds):.1f} ms"),
    ]
