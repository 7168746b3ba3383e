"""Verification of every stored entry of every device, both chains
(docs/architecture.md#tamper-evidence).

Contract: :func:`verify_store` reads (never writes) on the caller's connection and thread. For
each chain (``ledger`` then ``audit``), each device (by id) and each entry in ``seq`` order it
checks: the raw bytes are a well-formed entry envelope; the stored columns (id, device_id,
seq, kind, digest) equal what the raw bytes say and hash to; seq runs 1, 2, 3… without gaps;
``prev`` is the digest of the previous entry; the kind belongs to that chain; the signature
verifies with that device's registered key. The report names the FIRST failure in that order.

On a tablet that started from a server snapshot (:mod:`storage.verify_window`) each device's
ledger chain is checked from where its run without gaps starts (the rows below it, which the
snapshot carried, each alone: columns and signature), the stored manifest is re-checked, and
the report says whether the chains are still partial (``ChainReport.partial``).

Signatures (the expensive part) are checked in worker processes when the store is large: the
parent streams contiguous chunks of one device's chain (stored columns + raw bytes, with the
expected seq and prev at the chunk's start) to a pool and stops at the first failing chunk;
workers never see the database key. Small stores are verified in-process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import re
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mar_desktop.canonical import canonical_bytes
from mar_desktop.chain import ChainFailure, ChainReport, check_signature
from mar_desktop.envelope import AUDIT_PREFIX, GENESIS, Chain
from mar_desktop.signing import load_public_key
from storage import verify_window
from storage.database import Connection, connect

PARALLEL_THRESHOLD = 20_000
CHUNK_SIZE = 1_000
_MAX_IN_FLIGHT = 6
_FIELDS = frozenset(
    {"id", "facility_id", "device_id", "seq", "prev", "recorded_at", "kind", "actor", "body", "sig"}
)
_STRING_FIELDS = ("id", "facility_id", "device_id", "prev", "recorded_at", "kind", "sig")

# One chunk: (chain, device_id, public_key_hex or None, first expected seq, expected prev,
#             rows of (id, seq, kind, digest, raw)); result: None or (seq, id, reason).
Row = tuple[str, int, str, str, bytes]
Chunk = tuple[Chain, str, str | None, int, str, list[Row]]
Failure = tuple[int, str, str]


def _no_float(text: str) -> Any:
    raise ValueError("float in entry")


_HEX64 = re.compile("[0-9a-f]{64}")
_HEX128 = re.compile("[0-9a-f]{128}")
_DECODE = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float).decode


def _parse(raw: bytes, canonical: bool) -> dict[str, Any]:
    """The envelope fields of ``raw`` (as :func:`mar_desktop.envelope.parse_raw` checks them).

    Raises ValueError if malformed. With ``canonical`` the bytes must also re-encode exactly.
    """
    data = _DECODE(raw.decode("utf-8"))
    if not isinstance(data, dict) or data.keys() != _FIELDS:
        raise ValueError("fields missing or extra")
    for name in _STRING_FIELDS:
        if type(data[name]) is not str:
            raise ValueError(f"{name} is not a string")
    seq = data["seq"]
    if type(seq) is not int or seq < 1:
        raise ValueError("seq is not a positive integer")
    if type(data["actor"]) is not dict or type(data["body"]) is not dict:
        raise ValueError("actor or body is not an object")
    if not _HEX128.fullmatch(data["sig"]) or not _HEX64.fullmatch(data["prev"]):
        raise ValueError("sig or prev is not lowercase hex")
    if canonical and canonical_bytes(data) != raw:
        raise ValueError("bytes are not canonical")
    return data


_TAIL_MARK = b',"device_id":"'
_TAIL = re.compile(
    rb',"device_id":"([^"\\]+)","facility_id":"[^"\\]+","id":"([^"\\]+)",'
    rb'"kind":"([^"\\]+)","prev":"([0-9a-f]{64})","recorded_at":"[^"\\]+",'
    rb'"seq":([1-9][0-9]{0,17}),"sig":"[0-9a-f]{128}"\}'
)


def _fields(raw: bytes, strict: bool) -> dict[str, Any]:
    """device_id, id, kind, prev and seq of an entry.

    Fast path: the fields after ``body`` are read from the tail of the canonical bytes, where
    none of them can contain a quote; the signature check then proves every byte came from the
    device's signer, which writes only canonical envelopes. Anything unusual (and ``strict``)
    takes the full parse with canonical re-encoding (:func:`_parse`).
    """
    if not strict and raw.startswith(b'{"actor":{'):
        match = _TAIL.fullmatch(raw, raw.rfind(_TAIL_MARK))
        if match is not None:
            device_id, entry_id, kind, prev, seq = match.groups()
            return {
                "device_id": device_id.decode(),
                "id": entry_id.decode(),
                "kind": kind.decode(),
                "prev": prev.decode(),
                "seq": int(seq),
            }
    return _parse(raw, canonical=True)


def check_chunk(chunk: Chunk, strict: bool = False) -> Failure | None:
    """Checks one contiguous run of a device's chain; the first failure or None. Pure."""
    chain, device_id, public_hex, seq, prev, rows = chunk
    public = load_public_key(public_hex) if public_hex else None
    for stored_id, stored_seq, stored_kind, stored_digest, raw in rows:
        try:
            data = _fields(raw, strict)
        except (ValueError, UnicodeDecodeError):
            return stored_seq, stored_id, "is not a well-formed entry (raw bytes damaged)"
        digest = hashlib.sha256(raw).hexdigest()
        if digest != stored_digest:
            return stored_seq, stored_id, "raw bytes do not match their stored digest (altered)"
        reason = _column_mismatch(data, stored_id, device_id, stored_seq, stored_kind)
        if reason is None:
            reason = _link_problem(data, chain, seq, prev)
        if reason is None:
            if public is None:
                reason = "has no registered key for its device"
            elif not check_signature(raw, public):
                reason = "signature does not verify with the device's registered key"
        if reason is not None:
            return stored_seq, stored_id, reason
        seq += 1
        prev = digest
    return None


def _column_mismatch(
    data: dict[str, Any], stored_id: str, device_id: str, stored_seq: int, stored_kind: str
) -> str | None:
    if data["id"] != stored_id:
        return "stored id differs from the signed entry"
    if data["device_id"] != device_id:
        return "stored device differs from the signed entry"
    if data["seq"] != stored_seq:
        return "stored seq differs from the signed entry (rows reordered or renumbered)"
    if data["kind"] != stored_kind:
        return "stored kind differs from the signed entry"
    return None


def _link_problem(data: dict[str, Any], chain: Chain, seq: int, prev: str) -> str | None:
    kind_chain = "audit" if data["kind"].startswith(AUDIT_PREFIX) else "ledger"
    if kind_chain != chain:
        return f"kind belongs to the {kind_chain} chain"
    if data["seq"] != seq:
        if data["seq"] > seq:
            return f"follows a gap: expected seq {seq}"
        return f"repeats or reorders: expected seq {seq}"
    if data["prev"] != prev:
        return "does not link to the previous entry (prev hash mismatch)"
    return None


def _chunks(conn: Connection, keys: dict[str, str], size: int) -> Iterator[Chunk]:
    window = verify_window.runs(conn)
    for chain in ("ledger", "audit"):
        devices = [r[0] for r in conn.execute(f"SELECT DISTINCT device_id FROM {chain} ORDER BY 1")]
        for device_id in devices:
            seq, prev = 1, GENESIS
            if chain == "ledger" and device_id in window:
                seq, prev = window[device_id]
                yield from _below_run(conn, device_id, keys.get(device_id), seq)
            rows = conn.execute(
                f"SELECT id, seq, kind, digest, raw FROM {chain} WHERE device_id = ? AND seq >= ? "
                "ORDER BY seq",
                (device_id, seq),
            )
            while batch := rows.fetchmany(size):
                yield chain, device_id, keys.get(device_id), seq, prev, batch
                seq, prev = batch[-1][1] + 1, batch[-1][3]


def _below_run(
    conn: Connection, device_id: str, key: str | None, low_seq: int
) -> Iterator[Chunk]:
    """Rows held below a snapshot-started run (current-state entries the snapshot carried):
    each its own chunk, so its columns and signature are checked but not a link to an entry
    this tablet does not hold."""
    rows = conn.execute(
        "SELECT id, seq, kind, digest, raw FROM ledger WHERE device_id = ? AND seq < ? "
        "ORDER BY seq",
        (device_id, low_seq),
    )
    for row in rows.fetchall():
        try:
            prev = str(_fields(bytes(row[4]), False)["prev"])
        except (ValueError, UnicodeDecodeError):
            prev = ""  # check_chunk names the damaged row
        yield "ledger", device_id, key, int(row[1]), prev, [row]


def verify_store(
    conn: Connection,
    *,
    workers: int | None = None,
    parallel_threshold: int = PARALLEL_THRESHOLD,
    chunk_size: int = CHUNK_SIZE,
    strict: bool = False,
) -> ChainReport:
    """Verifies every entry of both tables (see module doc). Never raises for bad data: the
    report's ``failure`` names the first bad entry. ``workers`` defaults to the CPU count;
    stores smaller than ``parallel_threshold`` are checked in-process. ``strict`` also re-encodes
    every entry canonically (as ``envelope.parse_raw`` does); about 1.5x the CPU."""
    keys = {r[0]: r[1] for r in conn.execute("SELECT device_id, public_key FROM device_keys")}
    total = sum(
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("ledger", "audit")
    )
    chains = sum(
        conn.execute(f"SELECT count(DISTINCT device_id) FROM {t}").fetchone()[0]
        for t in ("ledger", "audit")
    )
    workers = workers if workers is not None else (os.cpu_count() or 1)
    snapshot_failure = verify_window.check_snapshot(conn)
    if snapshot_failure is not None:
        return ChainReport(entries=total, chains=chains, failure=snapshot_failure)
    chunks = _chunks(conn, keys, chunk_size)
    if total < parallel_threshold or workers <= 1:
        report = ChainReport(entries=total, chains=chains, failure=None)
        for chunk in chunks:
            failure = check_chunk(chunk, strict)
            if failure is not None:
                report = _report(total, chains, chunk, failure)
                break
    else:
        report = _verify_parallel(chunks, total, chains, workers, strict)
    if report.ok:
        partial, windowed = verify_window.describe(conn)
        report = dataclasses.replace(report, partial=partial, windowed=windowed)
    return report


def _verify_parallel(
    chunks: Iterator[Chunk], total: int, chains: int, workers: int, strict: bool
) -> ChainReport:
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        method = "fork"  # single-threaded caller: forking is safe, and fastest to start
    elif "forkserver" in methods:
        method = "forkserver"
    else:
        method = "spawn"  # the caller's __main__ must be import-safe (multiprocessing rule)
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["storage.verify"])
    pool = context.Pool(workers)
    try:
        pending: deque[tuple[Chunk, Any]] = deque()
        for chunk in chunks:
            meta: Chunk = (chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], [])
            pending.append((meta, pool.apply_async(check_chunk, (chunk, strict))))
            if len(pending) >= _MAX_IN_FLIGHT * workers:
                done, result = pending.popleft()
                failure = result.get()
                if failure is not None:
                    return _report(total, chains, done, failure)
        while pending:
            done, result = pending.popleft()
            failure = result.get()
            if failure is not None:
                return _report(total, chains, done, failure)
        return ChainReport(entries=total, chains=chains, failure=None)
    finally:
        pool.terminate()
        pool.join()


def _report(total: int, chains: int, chunk: Chunk, failure: Failure) -> ChainReport:
    seq, entry_id, reason = failure
    return ChainReport(
        entries=total,
        chains=chains,
        failure=ChainFailure(
            device_id=chunk[1], chain=chunk[0], seq=seq, entry_id=entry_id, reason=reason
        ),
    )


def verify_database(path: Path, key: bytes, **options: Any) -> ChainReport:
    """Opens the database at ``path`` read-side, verifies it (:func:`verify_store`), closes."""
    conn = connect(path, key)
    try:
        return verify_store(conn, **options)
    finally:
        conn.close()
