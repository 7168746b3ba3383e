"""The stores' bulk entry insert (PostgreSQL: binary COPY) keeps every database guarantee:
bytes stored exactly, ``(device_id, chain, seq)`` and feed positions unique, rows append-only."""

from __future__ import annotations

import dataclasses

import pytest

from mar_desktop.errors import StorageError
from sync.server.store import NewEntry
from tests.sync.server.conftest import Server


def _rows(server: Server, device_id: str, first_seq: int, first_pos: int, n: int) -> list[NewEntry]:
    return [
        NewEntry(
            server.facility_id,
            device_id,
            "audit",
            first_seq + i,
            first_pos + i,
            f"entry-{first_seq + i}",
            "audit.resident_viewed",
            f"{first_seq + i:064x}",
            "2026-01-05T08:00:00Z",
            bytes(range(256)) * 3 + b"\x00'\\\n" + str(i).encode(),  # any bytes, kept as-is
        )
        for i in range(n)
    ]


def test_bulk_insert_keeps_bytes_and_order(server: Server) -> None:
    tab = server.tablet()
    rows = _rows(server, tab.device_id, 1, 1, 300)
    with server.store.write() as txn:
        txn.lock_facility(server.facility_id)
        txn.insert_entries(rows)
    stored = server.store.feed(server.facility_id, "audit", 0, 1000)
    assert [(e.seq, e.pos, e.entry_id, e.digest, e.raw) for e in stored] == [
        (r.seq, r.pos, r.entry_id, r.digest, r.raw) for r in rows
    ]
    assert server.store.heads(tab.device_id)["audit"].seq == 300


@pytest.mark.parametrize("clash", ["seq", "pos"])
def test_bulk_insert_refuses_a_duplicate_and_stores_nothing_of_the_batch(
    server: Server, clash: str
) -> None:
    tab = server.tablet()
    with server.store.write() as txn:
        txn.insert_entries(_rows(server, tab.device_id, 1, 1, 5))
    again = _rows(server, tab.device_id, 6, 6, 5)
    dup = _rows(server, tab.device_id, 3, 3, 1)[0]
    if clash == "seq":
        again[2] = dataclasses.replace(dup, pos=100)
    else:
        again[2] = dataclasses.replace(dup, seq=100)
    with pytest.raises(StorageError), server.store.write() as txn:
        txn.insert_entries(again)
    held = server.store.feed(server.facility_id, "audit", 0, 100)
    assert [e.seq for e in held] == [1, 2, 3, 4, 5]


def test_heads_are_each_chains_last_entry_found_by_one_key_probe(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cursor every tablet asks for at every sync: each chain's last seq and digest, read
    with one primary-key probe per chain (it used to group all of a device's entries)."""
    tab = server.tablet()
    audit = _rows(server, tab.device_id, 1, 1, 40)
    ledger = [
        dataclasses.replace(r, chain="ledger", pos=10_000 + r.seq, entry_id=f"l-{r.seq}")
        for r in audit[:7]
    ]
    with server.store.write() as txn:
        txn.lock_facility(server.facility_id)
        txn.insert_entries(audit)
        txn.insert_entries(ledger)
    store = server.store
    ran: list[tuple[str, tuple[object, ...]]] = []
    run = store.run  # type: ignore[attr-defined]  # every statement of a SqlStore goes through it

    def recording(conn: object, sql: str, params: tuple[object, ...] = ()) -> object:
        ran.append((sql, tuple(params)))
        return run(conn, sql, params)

    monkeypatch.setattr(store, "run", recording)
    heads = store.heads(tab.device_id)
    monkeypatch.undo()
    assert (heads["audit"].seq, heads["audit"].digest) == (40, audit[-1].digest)
    assert (heads["ledger"].seq, heads["ledger"].digest) == (7, ledger[-1].digest)
    other = server.tablet(label="other cart")
    assert server.store.heads(other.device_id)["audit"].seq == 0
    if type(store).__name__ != "SqliteStore":
        return  # the plan check below is SQLite's EXPLAIN; PostgreSQL runs the rest
    assert ran
    with store._pool.connection() as conn:  # type: ignore[attr-defined]
        for sql, params in ran:
            plan = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            assert len(plan) == 1 and plan[0].startswith("SEARCH entries USING"), plan
            assert "(device_id=? AND chain=?)" in plan[0], plan
