"""``--demo``: the embedded reference server really runs (a child process on loopback TLS),
the demo tablet is enrolled with it and its seeded entries reach it; quitting the app stops the
engine and the server and deletes the throwaway folder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from mar_desktop.clock import SystemClock
from sync.engine import SyncEngine
from sync.server import config
from tests.ui.steps import MONITORS, record_gui_lag, wait
from ui import demo, startup, theme
from ui.errors import ErrorPresenter
from ui.lag import EventLoopLagMonitor
from ui.main_window import MainWindow
from ui.startup import AppOwner


def _local_rows(store, table: str) -> list[tuple[int, str]]:
    conn = store.connect_reader()
    try:
        rows = conn.execute(
            f"SELECT seq, digest FROM {table} WHERE device_id = ? ORDER BY seq",
            (store.device_id,),
        ).fetchall()
    finally:
        conn.close()
    return [(int(r[0]), str(r[1])) for r in rows]


def _server_rows(folder: Path, device_id: str, chain: str) -> list[tuple[int, str]]:
    server = config.open_store(str(folder / "server" / "data" / config.DEFAULT_DB_FILE))
    try:
        return [(e.seq, e.digest) for e in server.entries_of(device_id, chain)]
    finally:
        server.close()


def test_demo_bootstrap_enrols_with_the_embedded_server_and_its_entries_reach_it():
    site = demo.start_demo(SystemClock(), days=0, residents_per_unit=2)
    try:
        assert site.server is not None and site.server.running
        assert site.server.url.startswith("https://127.0.0.1:")
        store = site.store
        assert store.facility_id == site.server.facility_id, "the server assigned the facility"
        engine = SyncEngine(store, interval=3600)
        try:
            report = engine.sync_once()
            assert report.pushed > 0
            assert engine.pending() == 0
            assert engine.status.current.state == "online"
        finally:
            engine.close()
        for table, chain in (("ledger", "ledger"), ("audit", "audit")):
            local = _local_rows(store, table)
            assert local, table
            assert _server_rows(site.folder, store.device_id, chain) == local
        names = {u.username for u in store.reader().users()}
        assert {"admin", "nurse"} <= names
    finally:
        site.store.close()
        site.close()
    assert not site.server.running
    assert not site.folder.exists()


def test_demo_app_syncs_in_the_background_and_quit_leaves_nothing(
    qtbot, memory_keyring, runner, monkeypatch
):
    monkeypatch.setattr(startup, "DEMO_DAYS", 1)
    monkeypatch.setattr(startup, "DEMO_RESIDENTS_PER_UNIT", 2)
    sites: list[demo.DemoSite] = []
    start = demo.start_demo

    def recording(*args, **kwargs):
        made = start(*args, **kwargs)
        sites.append(made)
        return made

    monkeypatch.setattr(demo, "start_demo", recording)
    theme.apply(QApplication.instance())
    window = MainWindow(runner, SystemClock(), ErrorPresenter())
    window.resize(1280, 800)
    qtbot.addWidget(window)
    window.show()
    owner = AppOwner(window, runner, window.clock, None)
    lag = EventLoopLagMonitor(window)
    lag.start()
    MONITORS.append(lag)
    try:
        owner.open(demo=True)
        wait(qtbot, window.login.sign_in_button.isEnabled, timeout=120_000)
        assert window.login.demo_panel is not None
        # From here the seeded history is pushed in the background: this is the sync work
        # whose GUI lag is measured (the bootstrap before it is seeding on the worker).
        lag.worst_ms = 0.0
        lag._last = time.perf_counter()
        link = window.ctx.backend.sync_status
        wait(qtbot, lambda: link.status().last_success is not None, timeout=60_000)
        status = link.status()
        assert status.online and status.pending == 0
        wait(qtbot, lambda: window.status.sync_label.text().startswith("● Online"))
        assert "all synced" in window.status.sync_label.text()
        record_gui_lag(lag)
    finally:
        MONITORS.remove(lag)
        lag.stop()
        owner.shutdown()
    (site,) = sites
    assert site.server is not None
    assert site.server.process.returncode is not None, "server process ended"
    assert not site.folder.exists()
    assert not [t for t in threading.enumerate() if t.name == "mar-sync"]
