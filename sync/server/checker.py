"""Stateless checks of pushed entries: envelope, ownership, body schema and signature.

:func:`check_chunk` is a pure top-level function so it can run in worker processes (a batch is
split across CPU cores; Ed25519 verification dominates). :class:`Verifier` runs it inline, on
threads or on a process pool. Chain position (``seq``/``prev``) is checked later, under the
facility's write lock, by :mod:`sync.server.ingest`.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from mar_desktop.chain import check_signature
from mar_desktop.clock import parse_utc
from mar_desktop.envelope import Chain, parse_raw
from mar_desktop.errors import ValidationError
from mar_desktop.kinds import SERVER_ONLY_KINDS, AdministrationRecorded, parse_body
from mar_desktop.model import Outcome
from mar_desktop.signing import PublicKey, load_public_key

# matched with fullmatch: "$" would also match before a final newline
_ID = re.compile(r"[\x21-\x7e]{1,64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KIND = re.compile(r"(?=.{1,64}\Z)[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
"""``area.event`` in lowercase ASCII (``audit.<action>`` kinds are open-ended: still bounded)."""
Mode = Literal["inline", "threads", "processes"]
_PARALLEL_FROM = 32  # smaller batches are checked inline: dispatch would cost more


@dataclass(frozen=True, slots=True)
class Facts:
    """What the chain check and the insert need from a well-formed entry."""

    entry_id: str
    chain: Chain
    seq: int
    prev: str
    kind: str
    recorded_at: str
    digest: str


DoseBody = tuple[str, str, datetime | None, datetime, Outcome, Decimal | None]
"""What reconciliation needs of a checked ``administration.recorded`` body: resident id, order
id, scheduled_for, administered_at, outcome and dose_given (so the server need not parse it
twice)."""


@dataclass(frozen=True, slots=True)
class Checked:
    """One entry's result: ``facts`` (when parseable) and, if refused, ``code`` and ``reason``;
    ``dose`` for an accepted ``administration.recorded`` entry."""

    facts: Facts | None
    code: str | None = None
    reason: str | None = None
    dose: DoseBody | None = None


def check_one(raw: bytes, public_key: PublicKey, device_id: str, facility_id: str) -> Checked:
    """Checks one entry's envelope, owner, kind, body and signature. Never raises.

    ``device_id`` is a tablet (the server device never pushes): an entry of a kind in
    :data:`mar_desktop.kinds.SERVER_ONLY_KINDS` is refused as ``invalid_body``."""
    try:
        entry = parse_raw(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return Checked(None, "malformed", f"not a canonical entry envelope: {exc}")
    if not _ID.fullmatch(entry.id) or not _HEX64.fullmatch(entry.prev):
        return Checked(None, "malformed", "entry id or prev hash is not well formed")
    if not _KIND.fullmatch(entry.kind):
        return Checked(None, "malformed", "entry kind is not well formed (area.event, a-z0-9_)")
    try:
        parse_utc(entry.recorded_at)
    except ValueError:
        return Checked(None, "malformed", "recorded_at is not an RFC 3339 UTC time")
    facts = Facts(
        entry_id=entry.id,
        chain=entry.chain,
        seq=entry.seq,
        prev=entry.prev,
        kind=entry.kind,
        recorded_at=entry.recorded_at,
        digest=entry.digest,
    )
    if entry.device_id != device_id:
        return Checked(facts, "wrong_device", "entry belongs to another device")
    if entry.facility_id != facility_id:
        return Checked(facts, "wrong_facility", "entry belongs to another facility")
    if entry.kind in SERVER_ONLY_KINDS:
        why = f"{entry.kind} entries are recorded by the server only, never by a device"
        return Checked(facts, "invalid_body", why)
    try:
        body = parse_body(entry.kind, entry.body)
    except ValidationError as exc:
        return Checked(facts, "invalid_body", str(exc))
    if not check_signature(raw, public_key):
        return Checked(facts, "bad_signature", "signature does not verify with the device key")
    if isinstance(body, AdministrationRecorded):
        dose = (
            body.resident_id,
            body.order_id,
            body.scheduled_for,
            body.administered_at,
            body.outcome,
            body.dose_given,
        )
        return Checked(facts, dose=dose)
    return Checked(facts)


def check_chunk(
    raws: Sequence[bytes], public_key: str, device_id: str, facility_id: str
) -> list[Checked]:
    if not raws:
        return []
    key = load_public_key(public_key)
    return [check_one(raw, key, device_id, facility_id) for raw in raws]


_Packed = tuple[
    tuple[str, Chain, int, str, str, str, str] | None, str | None, str | None, DoseBody | None
]


def check_chunk_packed(
    raws: Sequence[bytes], public_key: str, device_id: str, facility_id: str
) -> list[_Packed]:
    """:func:`check_chunk` with plain-tuple results, for worker processes: pickling 1000
    dataclass results and back cost ~9 ms per push; tuples ~1 ms. See :func:`_unpack`."""
    out: list[_Packed] = []
    for c in check_chunk(raws, public_key, device_id, facility_id):
        f = c.facts
        facts = (
            None
            if f is None
            else (f.entry_id, f.chain, f.seq, f.prev, f.kind, f.recorded_at, f.digest)
        )
        out.append((facts, c.code, c.reason, c.dose))
    return out


def _unpack(packed: list[_Packed]) -> list[Checked]:
    return [
        Checked(None if f is None else Facts(*f), code, why, dose) for f, code, why, dose in packed
    ]


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: the worker ignores SIGTERM and SIGINT (a service manager or a
    terminal signals the whole process group; the server then finishes its requests and shuts
    the pool down, and a worker killed first would break the pool and leak its semaphores), and
    ends itself if the server process dies without closing the pool."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="mar-parent-watch", daemon=True).start()


class Verifier:
    """Runs :func:`check_chunk` over a batch, split across ``workers``. Thread-safe."""

    def __init__(self, mode: Mode = "threads", workers: int = 2) -> None:
        self.mode = mode
        self.workers = max(1, workers)
        self._pool: Executor | None = None
        if mode == "threads":
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="mar-verify")
        elif mode == "processes":
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_exit_with_parent, initargs=(os.getpid(),)
            )
            for f in [self._pool.submit(check_chunk, [], "", "", "") for _ in range(self.workers)]:
                f.result()  # start the workers now, not on the first push

    def check(
        self, raws: Sequence[bytes], public_key: str, device_id: str, facility_id: str
    ) -> list[Checked]:
        if self._pool is None or len(raws) < _PARALLEL_FROM:
            return check_chunk(raws, public_key, device_id, facility_id)
        size = -(-len(raws) // (self.workers * 2))
        chunks = [list(raws[i : i + size]) for i in range(0, len(raws), size)]
        out: list[Checked] = []
        if self.mode == "processes":
            packed = [
                self._pool.submit(check_chunk_packed, c, public_key, device_id, facility_id)
                for c in chunks
            ]
            for job in packed:
                out.extend(_unpack(job.result()))
            return out
        futures = [
            self._pool.submit(check_chunk, c, public_key, device_id, facility_id) for c in chunks
        ]
        for future in futures:
            out.extend(future.result())
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
