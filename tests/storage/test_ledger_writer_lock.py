"""The writer's threading contract: one lock-guarded connection, a thread only for ingest_later."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlcipher3

from mar_desktop.clock import FakeClock
from mar_desktop.envelope import Entry
from mar_desktop.errors import StorageError
from mar_desktop.kinds import parse_body
from mar_desktop.ports import ReadModel
from storage.database import connect, database_path
from storage.local_store import LocalStore
from tests import factories as f


def _writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mar-ledger-writer")]


def _foreign_entries(tmp_path: Path, db_key: bytes) -> list[Entry]:
    other = LocalStore.create(tmp_path / "other", db_key, "fac-1", FakeClock())
    try:
        drafts, _ = f.small_facility(2)
        return other.ledger.append(drafts)
    finally:
        other.close()


def test_appends_run_on_the_calling_thread_without_a_writer_thread(store: LocalStore) -> None:
    before = _writer_threads()
    unit, login = store.ledger.append([f.unit(), f.audit("login")])
    assert (store.ledger.entry(unit.id), store.ledger.entry(login.id)) == (unit, login)
    deciders: list[threading.Thread] = []

    def decide(read: ReadModel) -> list:
        deciders.append(threading.current_thread())
        return [f.unit()]

    caller = threading.Thread(target=lambda: store.ledger.append_decided(decide))
    caller.start()
    caller.join(10)
    assert deciders == [caller]
    assert _writer_threads() == before


def test_queued_ingests_finish_before_close_and_the_thread_stops(
    tmp_path: Path, db_key: bytes, fake_clock: FakeClock
) -> None:
    entries = _foreign_entries(tmp_path, db_key)
    items = [(e, parse_body(e.kind, e.body)) for e in entries]
    store = LocalStore.create(tmp_path / "mine", db_key, "fac-1", fake_clock)
    half = len(items) // 2
    first = store.ledger.ingest_later(items[:half])
    second = store.ledger.ingest_later(items[half:])
    assert _writer_threads(), "ingest_later runs on the writer thread"
    store.close()
    assert (first.result(), second.result()) == (half, len(items) - half)
    assert not _writer_threads()
    reopened = LocalStore.open(tmp_path / "mine", db_key, fake_clock)
    try:
        assert all(reopened.ledger.entry(e.id) == e for e in entries)
    finally:
        reopened.close()


def test_every_call_after_close_is_refused(store: LocalStore) -> None:
    store.ledger.append([f.unit()])
    store.close()
    store.ledger.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        store.ledger.append([f.unit()])
    with pytest.raises(StorageError, match="closed"):
        store.ledger.ingest_later([])
    with pytest.raises(StorageError, match="closed"):
        store.ledger.head("ledger")


def test_nothing_is_appended_between_a_decision_and_its_append(store: LocalStore) -> None:
    inside, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def decide(read: ReadModel) -> list:
        seen.append(len(read.units()))
        inside.set()
        assert release.wait(10)
        return [f.unit()]

    decider = threading.Thread(target=lambda: store.ledger.append_decided(decide))
    decider.start()
    assert inside.wait(10)
    other = threading.Thread(target=lambda: store.ledger.append([f.unit()]))
    other.start()
    other.join(0.2)
    blocked = other.is_alive()
    release.set()
    decider.join(10)
    other.join(10)
    assert blocked, "an append ran while another thread was deciding"
    assert seen == [0]
    assert len(store.reader().units()) == 2
    assert store.ledger.head("ledger")[0] == 2


def test_readers_keep_to_the_thread_that_opened_them(store: LocalStore, db_key: bytes) -> None:
    conn = connect(database_path(store.path.parent), db_key)
    errors: list[BaseException] = []

    def use() -> None:
        try:
            conn.execute("SELECT 1").fetchone()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    conn.close()
    assert len(errors) == 1 and isinstance(errors[0], sqlcipher3.ProgrammingError)
