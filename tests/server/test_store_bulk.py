"""The stores' bulk entry insert (PostgreSQL: binary COPY) keeps every database guarantee:
bytes stored exactly, ``(device_id, chain, seq)`` and feed positions unique, rows append-only."""

from __future__ import annotations

import dataclasses

import pytest

from mar_desktop.errors import StorageError
from sync.server.store import NewEntry
from tests.server.conftest import Server


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
