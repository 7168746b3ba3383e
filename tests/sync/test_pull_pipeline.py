"""The pipelined pull (prefetch, worker-process verification one page ahead, batched ingest):
every entry is still verified before it is stored, a bad one is quarantined with its reason,
and the projections a long pull leaves equal a rebuild from the ledger."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from mar_desktop.clock import FakeClock
from storage.database import Connection
from storage.local_store import LocalStore
from storage.projections import rebuild
from storage.sync_state import FEED, SyncState
from sync import protocol as p
from sync import pull, pull_pipeline
from sync.pull import pull_feed
from tests.storage.helpers import mixed_history, snapshot

PAGE = 4  # small pages: the pull is "long", so it takes the worker-process path


class FeedOnly:
    """The two calls ``pull_feed`` makes, served from a list of raw entries."""

    def __init__(self, facility_id: str, keys: dict[str, str], raws: list[bytes]) -> None:
        self.facility_id = facility_id
        self.keys = keys
        self.raws = raws
        self.fetched = 0

    def devices(self) -> p.DevicesResponse:
        return p.DevicesResponse(
            facility_id=self.facility_id,
            devices=[
                p.DeviceInfo(
                    device_id=d,
                    public_key=k,
                    label="cart",
                    is_server=False,
                    enrolled_at="2026-01-01T00:00:00Z",
                    revoked=False,
                )
                for d, k in self.keys.items()
            ],
        )

    def feed(self, after: int, limit: int) -> p.FeedPage:
        self.fetched += 1
        items = [
            p.FeedItem(pos=pos, entry=raw.decode("utf-8"))
            for pos, raw in enumerate(self.raws, start=1)
            if pos > after
        ][:limit]
        return p.FeedPage(
            items=items,
            next=items[-1].pos if items else after,
            more=bool(items) and items[-1].pos < len(self.raws),
        )


def _rows(conn: Connection) -> list[tuple[str, int, bytes]]:
    return [
        (r[0], int(r[1]), bytes(r[2]))
        for r in conn.execute("SELECT device_id, seq, raw FROM ledger ORDER BY device_id, seq")
    ]


@pytest.fixture
def source(store: LocalStore) -> LocalStore:
    mixed_history(store.ledger)
    return store


@pytest.fixture
def target(tmp_path: Path, db_key: bytes) -> Iterator[LocalStore]:
    new = LocalStore.create(tmp_path / "new", db_key, "fac-1", FakeClock())
    try:
        yield new
    finally:
        new.close()


def _feed(source: LocalStore) -> FeedOnly:
    conn = source.connect_reader()
    try:
        raws = [bytes(r[0]) for r in conn.execute("SELECT raw FROM ledger ORDER BY rowid")]
    finally:
        conn.close()
    return FeedOnly("fac-1", {source.device_id: source.ledger.public_key_hex}, raws)


def _pull(client: FeedOnly, target: LocalStore) -> tuple[int, int, SyncState]:
    state = SyncState(target.connect_reader)
    result = pull_feed(
        client,  # type: ignore[arg-type]
        state,
        target,
        page_size=PAGE,
        stopping=lambda: False,
    )
    return result.pulled, result.quarantined, state


def _assert_projections_equal_a_rebuild(store: LocalStore) -> dict[str, object]:
    conn = store.connect_reader()
    try:
        pulled = snapshot(conn)
        conn.execute("BEGIN IMMEDIATE")
        rebuild(conn)
        rebuilt = snapshot(conn)
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    assert pulled == rebuilt
    return pulled


def test_a_long_pipelined_pull_stores_everything_once_and_projections_equal_a_rebuild(
    source: LocalStore, target: LocalStore
) -> None:
    client = _feed(source)
    assert len(client.raws) > 5 * PAGE
    pulled, quarantined, state = _pull(client, target)
    try:
        assert (pulled, quarantined) == (len(client.raws), 0)
        assert state.cursor(FEED)[0] == len(client.raws)
        src, dst = source.connect_reader(), target.connect_reader()
        try:
            assert _rows(dst) == _rows(src)
            assert snapshot(dst) == snapshot(src)
        finally:
            src.close()
            dst.close()
        _assert_projections_equal_a_rebuild(target)
        # a second pull finds nothing new and stores nothing twice
        again, held, _ = _pull(client, target)
        assert (again, held) == (0, 0)
    finally:
        state.close()


def test_a_bad_signature_in_a_pipelined_page_is_quarantined_and_nothing_after_it_applied(
    source: LocalStore, target: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools: list[object] = []

    def recording_pool(workers: int) -> Executor:
        pool = pull_pipeline.verifier_pool(workers)
        pools.append(pool)
        return pool

    monkeypatch.setattr(pull, "verifier_pool", recording_pool)
    client = _feed(source)
    bad = 3 * PAGE + 1  # inside the fourth page, judged by a worker process
    raw = client.raws[bad]
    cut = raw.rindex(b'"sig":"') + len(b'"sig":"')
    flipped = b"0" if raw[cut : cut + 1] != b"0" else b"1"
    client.raws[bad] = raw[:cut] + flipped + raw[cut + 1 :]
    pulled, quarantined, state = _pull(client, target)
    try:
        assert pulled == bad
        assert quarantined == len(client.raws) - bad
        held = {q.seq: q for q in state.quarantined() if q.direction == "pull"}
        assert held[bad + 1].code == "bad_signature"
        assert "signature" in held[bad + 1].reason
        assert {held[s].code for s in held if s > bad + 1} == {"chain"}
        conn = target.connect_reader()
        try:
            seqs = [r[1] for r in _rows(conn)]
        finally:
            conn.close()
        assert seqs == list(range(1, bad + 1))
        _assert_projections_equal_a_rebuild(target)
        assert len(pools) == 1 and isinstance(pools[0], ProcessPoolExecutor)
    finally:
        state.close()


def test_a_non_canonical_entry_in_a_pipelined_page_is_quarantined_as_malformed(
    source: LocalStore, target: LocalStore
) -> None:
    client = _feed(source)
    bad = 2 * PAGE + 2
    client.raws[bad] = client.raws[bad].replace(b'{"actor":', b'{ "actor":', 1)
    pulled, quarantined, state = _pull(client, target)
    try:
        assert pulled == bad
        held = [q for q in state.quarantined() if q.direction == "pull"]
        assert quarantined == len(held) == len(client.raws) - bad
        malformed = [q for q in held if q.code == "malformed"]
        assert [q.entry_key for q in malformed] == [f"pos:{bad + 1}"]
        assert {q.code for q in held if q not in malformed} == {"chain"}
    finally:
        state.close()


def test_a_long_pull_restores_the_switch_interval_and_the_writer_cache(
    source: LocalStore, target: LocalStore
) -> None:
    def cache_size() -> int:
        return int(
            target.ledger._on_writer(  # the writer connection, under its lock
                lambda: target.ledger._conn.execute("PRAGMA cache_size").fetchone()[0]
            )
        )

    interval, cache = sys.getswitchinterval(), cache_size()
    client = _feed(source)
    pulled, _, state = _pull(client, target)
    state.close()
    assert pulled == len(client.raws)
    assert sys.getswitchinterval() == interval
    assert cache_size() == cache


class _BrokenPool(Executor):
    """A pool whose worker processes died: every task fails as a broken pool's would."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(BrokenProcessPool("a worker died"))
        return future


def test_a_broken_verifier_pool_falls_back_to_checking_inline(
    source: LocalStore, target: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pull, "verifier_pool", lambda workers: _BrokenPool())
    client = _feed(source)
    bad = 2 * PAGE + 1
    raw = client.raws[bad]
    cut = raw.rindex(b'"sig":"') + len(b'"sig":"')
    client.raws[bad] = raw[:cut] + (b"0" if raw[cut : cut + 1] != b"0" else b"1") + raw[cut + 1 :]
    pulled, quarantined, state = _pull(client, target)
    try:
        assert pulled == bad
        assert quarantined == len(client.raws) - bad
        held = {q.seq: q.code for q in state.quarantined() if q.direction == "pull"}
        assert held[bad + 1] == "bad_signature"
        _assert_projections_equal_a_rebuild(target)
    finally:
        state.close()
