"""The record benchmark's "floor the design fixes" row must do the signing work a record does: with
a signer, each floor commit signs exactly its record's ledger entry and audit entry, over their
signed bytes (were it to sign nothing, the row would understate the floor)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mar_desktop.envelope import signed_part
from mar_desktop.signing import DeviceSigner
from tests.bench.record import record_and_bare_ms
from tests.bench.record_floor import floor_commits


class _RecordingSigner(DeviceSigner):
    """Signs as the app does and keeps every message it was asked to sign."""

    def __init__(self) -> None:
        super().__init__(Ed25519PrivateKey.generate())
        self.messages: list[bytes] = []

    def sign(self, message: bytes) -> bytes:
        self.messages.append(message)
        return super().sign(message)


def test_signed_floor_signs_each_records_ledger_and_audit_entry(tmp_path: Path) -> None:
    _, _, rows = record_and_bare_ms(tmp_path, runs=3)
    signer = _RecordingSigner()
    with floor_commits(tmp_path, rows, "signed_floor.db", signer=signer) as commits:
        for commit in commits:
            commit()  # raises if a row is refused: each commit stores its record's three rows
    expected = [signed_part(entry[5]) for ledger, audit, _ in rows for entry in (ledger, audit)]
    assert signer.messages == expected
    assert {row[0][3] for row in rows} == {"administration.recorded"}
    assert {row[1][3] for row in rows} == {"audit.record_created"}
