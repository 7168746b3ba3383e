"""``mar-server verify``: every stored chain checked for signature, continuity and gapless seq.

The report has the tablet's shape (:class:`mar_desktop.chain.ChainReport`); the first failing
entry is named by device, chain, seq and id. Signatures of one chain are checked in parallel
threads. Reads only.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mar_desktop.chain import ChainFailure, ChainReport, check_link, check_signature, digest
from mar_desktop.envelope import GENESIS, Chain, parse_raw
from mar_desktop.signing import PublicKey, load_public_key
from sync.server.store import Store, StoredEntry

_CHAINS: tuple[Chain, ...] = ("ledger", "audit")


def _check_chain(
    store: Store,
    device_id: str,
    facility_id: str,
    public_key: str,
    chain: Chain,
    pool: ThreadPoolExecutor,
) -> tuple[int, ChainFailure | None]:
    rows = list(store.entries_of(device_id, chain))
    key = load_public_key(public_key)
    sig_ok = list(pool.map(lambda r: _sig(r, key), rows, chunksize=256))
    prev, count = GENESIS, 0
    for expected_seq, (row, ok) in enumerate(zip(rows, sig_ok, strict=True), start=1):
        count += 1
        why = _entry_problem(row, ok, expected_seq, prev, device_id, facility_id, chain)
        if why is not None:
            return count, ChainFailure(device_id, chain, row.seq, row.entry_id, why)
        prev = row.digest
    return count, None


def _entry_problem(
    row: StoredEntry,
    sig_ok: bool,
    expected_seq: int,
    prev: str,
    device_id: str,
    facility_id: str,
    chain: Chain,
) -> str | None:
    try:
        entry = parse_raw(row.raw)
    except ValueError:
        return "is not a canonical entry"
    if not sig_ok:
        return "has an invalid signature"
    if entry.id != row.entry_id or entry.seq != row.seq or digest(row.raw) != row.digest:
        return "does not match its stored index (id, seq or digest)"
    if entry.facility_id != facility_id:
        return "belongs to another facility"
    why = check_link(
        entry, expected_seq=expected_seq, expected_prev=prev, device_id=device_id, chain=chain
    )
    return why


def _sig(row: StoredEntry, key: PublicKey) -> bool:
    try:
        return check_signature(row.raw, key)
    except ValueError:
        return False


def verify_store(store: Store, workers: int = 2) -> ChainReport:
    """Checks every device's two chains; stops at the first failure."""
    entries = chains = 0
    with ThreadPoolExecutor(workers, thread_name_prefix="mar-verify") as pool:
        for device in store.devices():
            for chain in _CHAINS:
                count, failure = _check_chain(
                    store, device.device_id, device.facility_id, device.public_key, chain, pool
                )
                entries += count
                if count:
                    chains += 1
                if failure is not None:
                    return ChainReport(entries, chains, failure)
    return ChainReport(entries, chains, None)
