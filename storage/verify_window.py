"""What ``verify`` adds on a tablet that started from a server snapshot
(docs/architecture.md#a-new-tablet).

Such a tablet holds each device's ledger chain as a run without gaps from ``low_seq`` up to its
head (``storage.history``), plus the current-state entries below it that the snapshot carried.
:func:`runs` tells :mod:`storage.verify` where each run starts and which rows lie below it (each
checked alone: columns and signature, no link). :func:`check_snapshot` re-checks the stored
manifest's signature with the server key kept at enrolment and that every run passes through
the anchor the manifest names; :func:`describe` says plainly whether the chains are still
partial (history still being fetched, or found to disagree with the snapshot) or complete
within the history window. Read-only, on the caller's connection and thread. Never raises for
bad data.
"""

from __future__ import annotations

import json

from mar_desktop.chain import ChainFailure, snapshot_message
from mar_desktop.signing import load_public_key, signature_valid
from storage import history
from storage.database import Connection


def runs(conn: Connection) -> dict[str, tuple[int, str]]:
    """Per device with an anchor: ``(low_seq, low_prev)`` of its ledger run."""
    return {d: (a.low_seq, a.low_prev) for d, a in history.anchors(conn).items()}


def _failure(device_id: str, seq: int, what: str, reason: str) -> ChainFailure:
    return ChainFailure(device_id=device_id, chain="ledger", seq=seq, entry_id=what, reason=reason)


def check_snapshot(conn: Connection) -> ChainFailure | None:
    """The stored manifest's signature and every anchor held (see module doc)."""
    started = history.backfill(conn)
    if started is None:
        return None
    row = conn.execute("SELECT server_device_id, server_public_key FROM sync_server").fetchone()
    server_device, server_key = (str(row[0]), str(row[1])) if row else ("", "")
    try:
        fields = json.loads(started.manifest)
        sig = bytes.fromhex(fields.pop("sig"))
        signed = signature_valid(load_public_key(server_key), sig, snapshot_message(fields))
    except (ValueError, KeyError, TypeError, AttributeError):
        signed = False
    if not signed:
        return _failure(
            server_device, 0, "snapshot manifest",
            "does not verify with the server key kept at enrolment",
        )
    for anchor in history.anchors(conn).values():
        if anchor.anchor_seq == 0:
            continue
        held = conn.execute(
            "SELECT digest, id FROM ledger WHERE device_id = ? AND seq = ?",
            (anchor.device_id, anchor.anchor_seq),
        ).fetchone()
        if held is None and anchor.low_seq <= anchor.anchor_seq:
            return _failure(
                anchor.device_id, anchor.anchor_seq, "(missing)",
                "is missing inside the run held without gaps",
            )
        if held is not None and held[0] != anchor.anchor_digest:
            return _failure(
                anchor.device_id, anchor.anchor_seq, str(held[1]),
                "is not the entry the server's signed snapshot names there",
            )
    return None


def describe(conn: Connection) -> tuple[str | None, str | None]:
    """``(partial, windowed)`` for :class:`mar_desktop.chain.ChainReport`."""
    started = history.backfill(conn)
    if started is None:
        return None, None
    if started.status == history.BACKFILLING:
        return (
            f"history is still being fetched from the server ({started.progress():.0%} done); "
            f"records before {started.complete_from} are not all on this tablet yet",
            None,
        )
    if started.status == history.MISMATCH:
        return (
            "the chains disagreed with the server's snapshot this tablet started from "
            f"({started.detail}); an alert was raised",
            None,
        )
    return None, (
        f"chains held from {started.complete_from}, this tablet's history window; older "
        "records are exported from the server"
    )
