"""The writer: seals drafts into this device's ledger and audit chains
(docs/architecture.md#the-ledger).

Contract:

- One writer connection per database (opened ``shared``), guarded by one lock:
  :meth:`Ledger.append`, :meth:`Ledger.ingest`, :meth:`Ledger.entry`… may be called from any
  thread (never the GUI thread) and run on the calling thread one at a time, so appends are
  serialised and chain heads stay exact. Running on the caller's thread rather than handing
  each call to a writer thread saves a thread switch per record (~0.1 ms, a third of a bare
  commit). Only :meth:`Ledger.ingest_later` queues work, on one ``mar-ledger-writer`` thread
  started on its first use and shut down by :meth:`Ledger.close`.
- ``append`` validates every body first (``ValidationError``; nothing written), then in ONE
  ``BEGIN IMMEDIATE`` transaction numbers, links and signs each draft, inserts it into the
  ``ledger`` or ``audit`` table and folds ledger entries into the projections, and COMMITs
  (``synchronous=FULL``: durable when ``append`` returns). On any error it rolls back: nothing
  is stored and the chain heads are as before.
- ``ingest`` stores entries of other devices that sync has already checked (signature, chain):
  idempotent (same id and bytes again is skipped), one transaction per batch.
- Chain heads are read once and then kept in memory; no other code writes this device's chains.
- Database failures raise :class:`~mar_desktop.errors.StorageError` subclasses (``DiskFull``,
  ``ReadOnlyStorage``…); messages hold no PHI.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlcipher3

from mar_desktop.clock import Clock
from mar_desktop.envelope import GENESIS, Chain, Entry, EntryDraft, chain_of, parse_raw, seal
from mar_desktop.errors import Conflict, StorageError
from mar_desktop.kinds import Body, body_json, body_type, parse_body
from mar_desktop.ports import ReadModel
from mar_desktop.signing import DeviceSigner
from storage.database import Connection
from storage.database_errors import translate
from storage.ingest import Item, store_batch
from storage.projections import project

T = TypeVar("T")

_INSERT: dict[Chain, str] = {
    "ledger": "INSERT INTO ledger (id, device_id, seq, kind, recorded_at, raw, digest) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "audit": "INSERT INTO audit (id, device_id, seq, kind, recorded_at, raw, digest) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
}
_HEAD: dict[Chain, str] = {
    "ledger": "SELECT seq, digest FROM ledger WHERE device_id = ? ORDER BY seq DESC LIMIT 1",
    "audit": "SELECT seq, digest FROM audit WHERE device_id = ? ORDER BY seq DESC LIMIT 1",
}
_BY_ID: dict[Chain, str] = {
    "ledger": "SELECT raw FROM ledger WHERE id = ?",
    "audit": "SELECT raw FROM audit WHERE id = ?",
}
BULK_CACHE_KIB = 65536
"""Writer page cache during a bulk ingest (64 MiB; SQLite's default is 2 MiB)."""
_MSG_NOT_SAVED = "The record could not be saved; nothing was stored. Try again."


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """This device as stored in ``local_device``."""

    device_id: str
    facility_id: str
    signer: DeviceSigner


def _prepare(drafts: Sequence[EntryDraft]) -> list[tuple[EntryDraft, Body]]:
    """Each draft with its body model: a draft from :func:`mar_desktop.kinds.draft` carries
    its validated model and the model's JSON already; any other body is validated against its
    kind (ValidationError) and replaced by the model's JSON."""
    prepared: list[tuple[EntryDraft, Body]] = []
    for draft in drafts:
        model = draft.model
        if type(model) is body_type(draft.kind):
            prepared.append((draft, model))
            continue
        model = parse_body(draft.kind, draft.body)
        normalised = EntryDraft(draft.kind, draft.actor, body_json(model), draft.entry_id)
        prepared.append((normalised, model))
    return prepared


def load_identity(conn: Connection) -> DeviceIdentity:
    """Reads this device's id, facility and signing key. Raises StorageError if absent."""
    row = conn.execute(
        "SELECT device_id, facility_id, signing_key FROM local_device WHERE singleton = 1"
    ).fetchone()
    if row is None:
        raise StorageError("This database has no device identity; it was not set up correctly.")
    return DeviceIdentity(row[0], row[1], DeviceSigner.from_private_bytes(bytes(row[2])))


def _storage_error(exc: BaseException) -> BaseException:
    """Maps a database failure inside a write to the MarError the caller sees."""
    if not isinstance(exc, sqlcipher3.Error):
        return exc  # MarErrors as they are; anything else is a bug and must stay visible
    mapped = translate(exc)
    if mapped is not None:
        return mapped
    if isinstance(exc, sqlcipher3.IntegrityError):
        return Conflict("This entry is already recorded (same id or sequence); nothing was saved.")
    return StorageError(_MSG_NOT_SAVED)


class Ledger:
    """Implements :class:`mar_desktop.ports.LedgerWriter` on one lock-guarded connection.

    ``open_connection`` runs on the constructing thread and returns the migrated connection,
    opened ``shared`` (``storage.local_store`` passes one that connects and migrates); the
    ledger owns and closes it.
    """

    def __init__(self, open_connection: Callable[[], Connection], clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._heads: dict[Chain, tuple[int, str]] | None = None
        self._closed = False
        self._read_model: Callable[[Connection], ReadModel] | None = None
        conn = open_connection()
        try:
            self._identity = load_identity(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        # Threads start on the first submit only: a ledger that never ingests in the
        # background never has a thread of its own.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mar-ledger-writer")

    # --- LedgerWriter ---------------------------------------------------------------------------
    @property
    def device_id(self) -> str:
        return self._identity.device_id

    @property
    def facility_id(self) -> str:
        return self._identity.facility_id

    @property
    def public_key_hex(self) -> str:
        return self._identity.signer.public_hex

    def append(self, drafts: Sequence[EntryDraft]) -> list[Entry]:
        """Seals, stores and projects ``drafts`` in one durable transaction (see module doc).

        The body stored is the validated model's JSON (``kinds.body_json``), so times and
        decimals are in their one canonical form. Raises ValidationError for an invalid body,
        Conflict for a reused entry id, StorageError subclasses for database trouble.
        """
        prepared = _prepare(drafts)
        if not prepared:
            return []
        return self._on_writer(self._append, prepared)

    def bind_read_model(self, factory: Callable[[Connection], ReadModel]) -> None:
        """How to read on the writer connection (``storage.local_store`` binds SqlReadModel)."""
        self._read_model = factory

    def append_decided(
        self, decide: Callable[[ReadModel], Sequence[EntryDraft]]
    ) -> list[Entry]:
        """See :meth:`mar_desktop.ports.LedgerWriter.append_decided`. ``decide`` runs on the
        calling thread under the writer lock; its reads see the writer connection's warm page
        cache and nothing can be appended between its reads and the append."""
        if self._read_model is None:
            raise StorageError("This ledger has no read model bound.")
        return self._on_writer(self._decide_and_append, decide)

    def entry(self, entry_id: str) -> Entry | None:
        """The stored entry with this id from either chain, or None."""
        return self._on_writer(self._entry, entry_id)

    # --- more -----------------------------------------------------------------------------------
    def ingest(self, entries: Sequence[Entry]) -> int:
        """Stores entries from other devices (already verified by sync) and projects them.

        One transaction for the batch. An entry already stored with the same bytes is skipped;
        one whose id or (device, seq) is stored with different bytes raises IntegrityError and
        nothing of the batch is stored. Returns how many entries were new.
        """
        prepared = [(entry, parse_body(entry.kind, entry.body)) for entry in entries]
        if not prepared:
            return 0
        return self._on_writer(self._ingest, prepared)

    def ingest_later(
        self, checked: Sequence[Item], also: Callable[[Connection], None] | None = None
    ) -> Future[int]:
        """:meth:`ingest` of entries whose bodies the caller validated already (each paired
        with its ``kinds.parse_body`` model, or planned by :func:`storage.projection_plan.plan`),
        queued on the ``mar-ledger-writer`` thread; returns without waiting for it (only for
        a write already under way on another thread, which holds the lock briefly).
        ``also`` runs on the writer's connection inside the same transaction, after the
        entries are stored (sync bookkeeping that must commit with them, e.g.
        :mod:`storage.history`); it may write only bookkeeping tables.

        The future gives the count of new entries or raises as ``ingest`` does. Used by sync
        to store one batch while it verifies the next. Batches are stored in the order queued;
        :meth:`close` lets the queued ones finish first.
        """
        with self._lock:
            if self._closed:
                raise StorageError("The database is closed.")
            return self._executor.submit(self._locked, self._ingest, list(checked), also)

    @contextlib.contextmanager
    def bulk_ingest(self, cache_kib: int = BULK_CACHE_KIB) -> Iterator[None]:
        """A larger page cache on the writer connection while many batches are ingested (a new
        tablet's first sync): index pages stay in memory between batches. The cache goes back
        to its size before on exit (its pages are freed)."""
        before = self._on_writer(lambda: int(self._conn.execute("PRAGMA cache_size").fetchone()[0]))
        self._on_writer(lambda: self._conn.execute(f"PRAGMA cache_size = {-int(cache_kib)}"))
        try:
            yield
        finally:
            if not self._closed:
                self._on_writer(lambda: self._conn.execute(f"PRAGMA cache_size = {before}"))

    def head(self, chain: Chain) -> tuple[int, str]:
        """(seq, digest) of this device's last entry in ``chain``; (0, GENESIS) if none."""
        return self._on_writer(lambda: self._load_heads()[chain])

    def close(self) -> None:
        """Lets queued :meth:`ingest_later` batches finish, stops the writer thread and closes
        the connection; later calls raise StorageError. Idempotent; any thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._executor.shutdown(wait=True)  # outside the lock: queued batches need it
        with self._lock:
            self._conn.close()

    # --- under the writer lock ------------------------------------------------------------------
    def _on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` under the writer lock, on this thread; StorageError once closed."""
        with self._lock:
            if self._closed:
                raise StorageError("The database is closed.")
            return fn(*args)

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` under the writer lock even while closing (queued batches only)."""
        with self._lock:
            return fn(*args)

    def _load_heads(self) -> dict[Chain, tuple[int, str]]:
        if self._heads is None:
            heads: dict[Chain, tuple[int, str]] = {}
            for chain in ("ledger", "audit"):
                row = self._conn.execute(_HEAD[chain], (self.device_id,)).fetchone()
                heads[chain] = (0, GENESIS) if row is None else (int(row[0]), str(row[1]))
            self._heads = heads
        return self._heads

    def _rollback(self) -> None:
        self._heads = None  # re-read from the database on the next append
        if self._conn.in_transaction:
            with contextlib.suppress(sqlcipher3.Error):  # the transaction may be gone already
                self._conn.execute("ROLLBACK")

    def _append(self, prepared: list[tuple[EntryDraft, Body]]) -> list[Entry]:
        return self._in_transaction(lambda: prepared)

    def _decide_and_append(
        self, decide: Callable[[ReadModel], Sequence[EntryDraft]]
    ) -> list[Entry]:
        assert self._read_model is not None
        read = self._read_model(self._conn)
        return self._in_transaction(lambda: _prepare(decide(read)))

    def _in_transaction(
        self, prepare: Callable[[], list[tuple[EntryDraft, Body]]]
    ) -> list[Entry]:
        """BEGIN IMMEDIATE; ``prepare`` (may read, may raise); seal, store, project; COMMIT.
        On any error: ROLLBACK, chain heads re-read next time, the error propagates (database
        errors mapped to StorageError subclasses)."""
        conn = self._conn
        identity = self._identity
        try:
            heads = dict(self._load_heads())
            entries: list[Entry] = []
            conn.execute("BEGIN IMMEDIATE")
            prepared = prepare()
            recorded_at = self._clock.now()
            for draft, model in prepared:
                chain = chain_of(draft.kind)
                seq, prev = heads[chain]
                entry = seal(
                    draft,
                    facility_id=identity.facility_id,
                    device_id=identity.device_id,
                    seq=seq + 1,
                    prev=prev,
                    recorded_at=recorded_at,
                    signer=identity.signer,
                )
                digest = hashlib.sha256(entry.raw).hexdigest()
                conn.execute(
                    _INSERT[chain],
                    (
                        entry.id,
                        entry.device_id,
                        entry.seq,
                        entry.kind,
                        entry.recorded_at,
                        entry.raw,
                        digest,
                    ),
                )
                if chain == "ledger":
                    project(conn, entry, model)
                heads[chain] = (entry.seq, digest)
                entries.append(entry)
            conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            mapped = _storage_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        self._heads = heads
        return entries

    def _entry(self, entry_id: str) -> Entry | None:
        for chain in ("ledger", "audit"):
            row = self._conn.execute(_BY_ID[chain], (entry_id,)).fetchone()
            if row is not None:
                return parse_raw(bytes(row[0]))
        return None

    def _ingest(
        self, prepared: Sequence[Item], also: Callable[[Connection], None] | None = None
    ) -> int:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            stored = store_batch(conn, prepared)
            if also is not None:
                also(conn)
            conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            mapped = _storage_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        if self.device_id in stored.device_ids:
            self._heads = None
        return stored.count
