"""Read queries of the access report on the tablet (:mod:`mar_desktop.services.access_report`):
ledger entries that mention a resident, every entry of both chains in a window, the device
labels, and this device's signing identity for the export's manifest.

Contract: one instance per call, on its own connection (``LocalStore.connect_reader()``),
closed after it; read-only; worker thread. Raises StorageError subclasses for database trouble
and IntegrityError for stored bytes that do not parse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mar_desktop.clock import utc_iso
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.errors import IntegrityError
from mar_desktop.signing import DeviceSigner
from storage.database import Connection
from storage.database_errors import storage_errors
from storage.ledger import load_identity

MENTIONING = "SELECT raw FROM ledger WHERE instr(raw, ?) > 0"
BETWEEN = (
    "SELECT raw, recorded_at, device_id, seq FROM ledger WHERE recorded_at >= ? AND recorded_at < ?"
    " UNION ALL "
    "SELECT raw, recorded_at, device_id, seq FROM audit WHERE recorded_at >= ? AND recorded_at < ?"
    " ORDER BY 2, 3, 4"
)


class AccessQueries:
    """Implements :class:`mar_desktop.services.access_report.AccessEntries`."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def ledger_mentioning(self, needle: bytes) -> list[Entry]:
        """Ledger entries (any time, any device) whose bytes contain ``needle``: one pass in C
        over the table, only the matching rows parsed."""
        return self._parsed(MENTIONING, (needle,))

    def entries_between(self, since: datetime, until: datetime) -> list[Entry]:
        """Entries of both chains with ``since <= recorded_at < until``, in recorded order."""
        start, end = utc_iso(since), utc_iso(until)
        return self._parsed(BETWEEN, (start, end, start, end))

    def device_labels(self) -> dict[str, str]:
        """Device id -> label; this device by the label it was enrolled with (the server's
        ``device.enrolled`` entry), as the other tablets and the server name it."""
        with storage_errors():
            rows = self._conn.execute("SELECT device_id, label FROM device_keys").fetchall()
            enrolled = self._conn.execute(
                "SELECT raw FROM ledger WHERE kind = 'device.enrolled'").fetchall()
        labels = {str(r[0]): str(r[1]) for r in rows if r[1]}
        for (raw,) in enrolled:
            try:
                body = parse_raw(bytes(raw)).body
            except ValueError as exc:
                raise IntegrityError("A stored entry is damaged; run verify.") from exc
            if body.get("device_id") and body.get("label"):
                labels[str(body["device_id"])] = str(body["label"])
        return labels

    def device_signer(self) -> tuple[str, DeviceSigner]:
        with storage_errors():
            identity = load_identity(self._conn)
        return identity.device_id, identity.signer

    def close(self) -> None:
        self._conn.close()

    def _parsed(self, sql: str, params: tuple[Any, ...]) -> list[Entry]:
        with storage_errors():
            rows = self._conn.execute(sql, params).fetchall()
        try:
            return [parse_raw(bytes(row[0])) for row in rows]
        except ValueError as exc:
            raise IntegrityError("A stored entry is damaged; run verify.") from exc
