"""Changes announce themselves: a dose recorded on tablet B, pushed to a real server and pulled
by tablet A's background sync, appears on A's open resident MAR, A's unit overview and A's med
pass with no user action (the sync link hands the pulled changes to the change hub on the GUI
thread)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
import trustme
from PySide6.QtWidgets import QApplication

from mar_desktop.changes import Changes, changes_of
from mar_desktop.demo.seed import SeedResult
from mar_desktop.model import DoseStatus
from mar_desktop.people.accounts import AccountService
from mar_desktop.people.passwords import Argon2Parameters, PasswordHashing
from mar_desktop.people.totp import code_at
from storage.credentials import SqlCredentialStore
from tests.sync.conftest import Site, ca, cert_files, start_site, stop_site
from tests.sync.world import Cart, cart, next_slot, plain_orders, seed
from tests.ui.steps import idle, tap, wait
from ui import theme
from ui.app import build_backend
from ui.errors import ErrorPresenter
from ui.main_window import MainWindow
from ui.sync_link import SyncLink
from ui.tasks import TaskRunner

__all__ = ["ca", "cert_files"]

T = TypeVar("T")
FAST = PasswordHashing(Argon2Parameters(time_cost=1, memory_kib=64, parallelism=1))
PASSWORD = "correct horse battery staple"
SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


@pytest.fixture
def off_gui() -> Iterator[Callable[[Callable[[], T]], T]]:
    """Runs the other tablet's work and the test's own set-up off the GUI thread (the suite
    refuses database and network work there), waiting for it."""
    with ThreadPoolExecutor(1, thread_name_prefix="test-tablet") as pool:
        yield lambda fn: pool.submit(fn).result()


def test_a_dose_pulled_from_another_tablet_appears_on_the_open_mar_overview_and_pass(
    qtbot: object,
    tmp_path: Path,
    cert_files: Path,
    ca: trustme.CA,
    runner: TaskRunner,
    off_gui: Callable[[Callable[[], object]], object],
) -> None:
    site: Site = off_gui(lambda: start_site(tmp_path, str(tmp_path / "db.sqlite3"), cert_files, ca))  # type: ignore[assignment]
    window: MainWindow | None = None
    link: SyncLink | None = None
    backend = None
    try:
        a: Cart = off_gui(lambda: cart(site, "cart-a"))  # type: ignore[assignment]
        seeded: SeedResult = off_gui(lambda: seed(a))  # type: ignore[assignment]
        nurse = next(s.user for s in seeded.staff if s.user.username == "nurse")
        b: Cart = off_gui(lambda: cart(site, "cart-b"))  # type: ignore[assignment]
        # Two residents' doses due at the same time; both tablets' clocks at that time.
        pairs = plain_orders(seeded, 6)
        slots = {pair: off_gui(lambda pair=pair: next_slot(a, pair[1])) for pair in pairs}
        (first_resident, first_order), (other_resident, other_order) = next(
            (p, q)
            for p in pairs
            for q in pairs
            if p[0] != q[0] and slots[p] == slots[q]
        )
        slot = slots[(first_resident, first_order)]
        for c in (a, b):
            c.clock.set(slot)  # type: ignore[arg-type]

        def set_up_a() -> None:
            creds = SqlCredentialStore(a.tab.store.connect_reader, a.clock)
            try:
                AccountService(a.ports, creds, FAST).install_credentials(
                    nurse.user_id, PASSWORD, totp_secret=SECRET
                )
            finally:
                creds.close()
            a.tab.engine.sync_once()

        off_gui(set_up_a)
        off_gui(b.tab.engine.sync_once)

        link = SyncLink(a.tab.engine)
        backend = runner.run_on_worker(
            lambda: build_backend(a.tab.store, a.clock, sync_status=link)
        )
        app = QApplication.instance()
        assert app is not None
        theme.apply(app)  # type: ignore[arg-type]
        window = MainWindow(runner, a.clock, ErrorPresenter())
        window.resize(1280, 800)
        qtbot.addWidget(window)  # type: ignore[attr-defined]
        window.show()
        window.attach(backend)
        wait(qtbot, lambda: window.is_ready)
        link.start()
        login = window.login
        login.username.setText("nurse")
        login.password.setText(PASSWORD)
        login.code.setText(code_at(SECRET, a.clock.now()))
        tap(qtbot, login.sign_in_button)
        wait(qtbot, lambda: window.work is not None)
        idle(qtbot, window)

        # A shows the first resident's MAR; B gives that resident a dose; A syncs on its own.
        window.open_resident(first_resident.resident_id)
        wait(qtbot, lambda: window.mar.data is not None)
        shown_before = {r.entry_id for r in window.mar.data.mar.history}  # type: ignore[union-attr]
        given = off_gui(
            lambda: b.give(seeded, first_order, first_resident, slot)
        )
        assert given.id not in shown_before  # type: ignore[attr-defined]
        off_gui(b.tab.engine.sync_once)
        a.tab.engine.request_sync()
        wait(
            qtbot,
            lambda: given.id  # type: ignore[attr-defined]
            in {r.entry_id for r in window.mar.data.mar.history},  # type: ignore[union-attr]
            timeout=20_000,
        )

        # On the overview, a dose given on B to another resident lowers that resident's count.
        window.show_overview()
        idle(qtbot, window)

        def due_of(resident_id: str) -> int:
            return next(
                s.due + s.late
                for s in window.overview.visible_summaries()
                if s.resident.resident_id == resident_id
            )

        before = due_of(other_resident.resident_id)
        assert before >= 1
        off_gui(lambda: b.give(seeded, other_order, other_resident, slot))
        off_gui(b.tab.engine.sync_once)
        a.tab.engine.request_sync()
        wait(qtbot, lambda: due_of(other_resident.resident_id) == before - 1, timeout=20_000)

        # On the med pass, a dose given on B leaves the list and counts as done.
        window.show_pass()
        wait(qtbot, lambda: window.pass_list.summary.text() != "")
        plain = {order.order_id: (resident, order) for resident, order in plain_orders(seeded)}
        item = next((i for i in window.pass_list.items
                     if i.order.order_id in plain and i.dose.status is DoseStatus.DUE), None)
        assert item is not None, "the seeded facility has a plain dose due at the slot"
        done_before = window.pass_list.found.done  # type: ignore[union-attr]
        off_gui(lambda: b.give(seeded, item.order, item.resident, item.dose.scheduled_for))
        off_gui(b.tab.engine.sync_once)
        a.tab.engine.request_sync()
        wait(qtbot, lambda: item not in window.pass_list.items
             and window.pass_list.found.done == done_before + 1,  # type: ignore[union-attr]
             timeout=20_000)
    finally:
        if window is not None:
            window.shutdown()
        if link is not None:
            link.stop()
        if backend is not None:
            runner.run_on_worker(backend.close)
        runner.shutdown()
        off_gui(lambda: stop_site(site))


def test_changes_name_the_residents_a_dose_touched_and_refuse_to_guess() -> None:
    dose = changes_of([("administration.recorded", {"resident_id": "r1", "order_id": "o1"})])
    assert dose == Changes(residents=frozenset({"r1"}))
    assert dose.touches("r1") and not dose.touches("r2") and dose.any_resident
    void = changes_of([("entry.voided", {"target_entry_id": "e", "reason": "wrong"})])
    assert void.touches("anyone")
    unknown = changes_of([("newer.kind", {})])
    assert unknown == Changes.everything()
    assert not changes_of([("audit.viewed", {"resident_id": "r1"})])


def test_a_service_call_that_returns_entries_is_announced_as_its_changes() -> None:
    from mar_desktop.envelope import seal
    from mar_desktop.signing import DeviceSigner
    from tests import factories as f
    from ui.changes import changes_in

    entry = seal(
        f.administration("r-1", "o-1"),
        facility_id="fac-1",
        device_id="dev-1",
        seq=1,
        prev="0" * 64,
        recorded_at=f.T0,
        signer=DeviceSigner.generate(),
    )
    assert changes_in(entry) == Changes(residents=frozenset({"r-1"}))
    assert changes_in([entry]) == changes_in(entry)
    assert not changes_in(None) and not changes_in("a view")
