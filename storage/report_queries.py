"""Read queries the reports need beyond the ReadModel port: ledger entries by time, the ledger's
verification summary, and this device's signing identity for signing an export manifest.

Contract: one instance per thread, on its own connection (``LocalStore.connect_reader()``);
read-only; raises StorageError subclasses for database trouble.
"""

from __future__ import annotations

from datetime import datetime

from mar_desktop.clock import utc_iso
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.errors import IntegrityError
from mar_desktop.signing import DeviceSigner
from storage.database import Connection
from storage.database_errors import storage_errors
from storage.ledger import load_identity
from storage.verify import verify_store

LEDGER_BY_TIME = (
    "SELECT raw FROM ledger WHERE recorded_at >= ? AND recorded_at < ? "
    "ORDER BY recorded_at, device_id, seq"
)


class ReportQueries:
    """Implements :class:`mar_desktop.reports.exporting.ExportLedger`. ``verify_workers``: the
    processes :meth:`verification_summary` may use (None: one per CPU; the GUI passes 1)."""

    def __init__(self, conn: Connection, *, verify_workers: int | None = None) -> None:
        self._conn = conn
        self._verify_workers = verify_workers

    def ledger_entries(self, since: datetime, until: datetime) -> list[Entry]:
        """Ledger-chain entries with ``since <= recorded_at < until`` (all devices), ordered by
        recorded_at, device, seq. Raises IntegrityError for stored bytes that do not parse."""
        with storage_errors():
            rows = self._conn.execute(LEDGER_BY_TIME, (utc_iso(since), utc_iso(until))).fetchall()
        entries = []
        for (raw,) in rows:
            try:
                entries.append(parse_raw(bytes(raw)))
            except ValueError as exc:
                raise IntegrityError("A stored ledger entry is damaged; run verify.") from exc
        return entries

    def verification_summary(self) -> str:
        """Verifies every entry of both chains and returns the one-line summary for a
        manifest (never raises for bad data: the summary names the first bad entry)."""
        with storage_errors():
            return verify_store(self._conn, workers=self._verify_workers).summary()

    def device_signer(self) -> tuple[str, DeviceSigner]:
        """This device's id and signing key (to sign an export manifest)."""
        with storage_errors():
            identity = load_identity(self._conn)
        return identity.device_id, identity.signer

    def close(self) -> None:
        self._conn.close()
