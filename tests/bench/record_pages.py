"""Why the schema alone costs a multiple of the bare commit: what one more encrypted page adds
to a commit, and how many pages a recorded dose's commit writes.

The design fixes the page format (SQLCipher 4: AES-256-CBC and HMAC-SHA512 over every 4 KiB page
written; docs/architecture.md#at-rest) and what a record stores (a ledger row, an audit row and the
administrations projection, with their indexes; docs/architecture.md#the-ledger). Pages per record ×
cost per page is CPU and write work that the bare single-row commit (one or two pages) does not do,
before any code of ours runs.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from storage.database import Connection, connect
from tests.bench.record_floor import StoredRows, floor_commits
from tests.bench.table import alternating_ms, median

WAL_HEADER = 32
FRAME_HEADER = 24
PAGE_ROW = 3_500
"""A row that fills a page of its own (4,016 usable bytes: SQLCipher reserves 80 per page)."""
EXTRA_PAGES = 10


@contextlib.contextmanager
def one_table_database(path: Path) -> Iterator[Connection]:
    """A fresh encrypted database at ``path`` (random key, the app's connection settings) with
    one table ``t (id INTEGER PRIMARY KEY, v BLOB)``; closed on exit."""
    conn = connect(path, secrets.token_bytes(32), create=True)
    try:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        yield conn
    finally:
        conn.close()


def page_cost_us(folder: Path, runs: int = 200, block: int = 25) -> float:
    """Median µs that ``EXTRA_PAGES`` more page-sized rows add to a commit, per page, with
    ``synchronous=OFF`` (encryption and writes, no fsync): commits of 1 + EXTRA_PAGES rows
    against commits of one row, in alternating blocks on one fresh encrypted database."""
    with one_table_database(folder / "pages.db") as conn:
        conn.execute("PRAGMA synchronous = OFF")
        row = (bytes(PAGE_ROW),)

        def commit(count: int) -> Callable[[], None]:
            def one() -> None:
                conn.execute("BEGIN")
                conn.executemany("INSERT INTO t (v) VALUES (?)", [row] * count)
                conn.execute("COMMIT")

            return one

        many, single = alternating_ms(
            (commit(1 + EXTRA_PAGES) for _ in range(runs)), commit(1), block
        )
    return (median(many) - median(single)) / EXTRA_PAGES * 1000


def pages_per_record(folder: Path, rows: list[StoredRows]) -> float:
    """WAL frames (pages written) per commit when the records' rows are stored as in the
    storage-alone row: counted in a WAL that is never checkpointed."""
    with floor_commits(folder, rows, "floor_frames.db", checkpoints=False) as commits:
        for one in commits:
            one()
        wal = (folder / "floor_frames.db-wal").read_bytes()
    page = int.from_bytes(wal[8:12], "big")  # the WAL header's page size (plaintext)
    return (len(wal) - WAL_HEADER) / (FRAME_HEADER + page) / len(rows)
