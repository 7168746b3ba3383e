"""The surveyor export: CSV round trip to the ledger, the signed manifest and its check."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pdfplumber
import pytest

from mar_desktop.chain import check_signature
from mar_desktop.errors import PermissionDenied
from mar_desktop.reports.csv_export import (
    COLUMN_NAMES,
    csv_columns_markdown,
    entry_from_row,
    read_entries_csv,
)
from mar_desktop.reports.export import check_export, write_surveyor_export
from mar_desktop.reports.export import file_facts as _file_facts
from mar_desktop.reports.gather import ReportService
from mar_desktop.signing import load_public_key
from storage.report_queries import ReportQueries
from tests.mar_desktop.reports.world import ReportWorld, local


def _export(rw: ReportWorld, out: Path, username: str = "surveyor") -> tuple[list, dict]:  # type: ignore[type-arg]
    queries = ReportQueries(rw.world.store.connect_reader())
    try:
        data = ReportService(rw.world.ports).export_data(
            rw.world.principal(username), since=local(7), until=local(12), entries=queries
        )
        device_id, signer = queries.device_signer()
        manifest = write_surveyor_export(
            data,
            out,
            signer=signer,
            device_id=device_id,
            verification="OK: 120 entries in 2 chains verified",
        )
        expected = queries.ledger_entries(local(7), local(12))
    finally:
        queries.close()
    return expected, manifest


def test_csv_round_trip_equals_the_ledger_of_the_window(rw: ReportWorld, tmp_path: Path) -> None:
    expected, manifest = _export(rw, tmp_path / "export")
    rows = read_entries_csv(tmp_path / "export" / "entries.csv")
    assert len(expected) >= 8 and manifest["entries"] == len(expected)
    rebuilt = [entry_from_row(row) for row in rows]
    assert [e.raw for e in rebuilt] == [e.raw for e in expected]  # byte-identical entries
    key = load_public_key(rw.world.store.ledger.public_key_hex)
    assert all(check_signature(e.raw, key) for e in rebuilt)
    by_id = {row["entry_id"]: row for row in rows}
    voided = by_id[rw.voided_entry]
    assert voided["voided"] == "yes" and voided["void_reason"] == "Charted on the wrong dose time"
    assert by_id[rw.refused_entry]["reason_code"] == "R"
    assert by_id[rw.refused_entry]["actor_name"] == "Keisha Lambert"
    assert by_id[rw.witnessed_entry]["witness_name"] == "Dana Whitfield"
    assert by_id[rw.amended_entry]["amended_note"].endswith("resident tolerated well")
    assert all(f"`{name}`" in csv_columns_markdown() for name in COLUMN_NAMES)
    with pdfplumber.open(tmp_path / "export" / "entries.pdf") as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert "Charted on the wrong dose time" in text and "Pain in left knee" in text


def test_check_passes_then_fails_on_any_changed_byte(rw: ReportWorld, tmp_path: Path) -> None:
    out = tmp_path / "export"
    _export(rw, out)
    assert check_export(out).ok
    assert stat.S_IMODE(out.stat().st_mode) == 0o700  # PHI: the owner's alone
    for name in ("entries.csv", "entries.pdf", "manifest.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    assert check_export(out, trusted_keys=[rw.world.store.ledger.public_key_hex]).ok
    assert not check_export(out, trusted_keys=["00" * 32]).ok
    for name in ("entries.csv", "entries.pdf", "manifest.json"):
        path = out / name
        original = path.read_bytes()
        for index in (0, len(original) // 2, len(original) - 2):
            changed = bytearray(original)
            changed[index] ^= 0x01
            path.write_bytes(bytes(changed))
            result = check_export(out)
            assert not result.ok, f"a flipped byte {index} of {name} went unnoticed"
            path.write_bytes(original)
        assert check_export(out).ok
    (out / "extra.txt").write_text("x")
    assert "Unexpected file" in check_export(out).summary()
    (out / "extra.txt").unlink()
    (out / "entries.pdf").unlink()
    assert "entries.pdf is missing" in check_export(out).summary()


def test_cna_cannot_export_read_only_can_and_both_are_audited(
    rw: ReportWorld, tmp_path: Path
) -> None:
    ledger = rw.world.store.ledger
    before = ledger.head("audit")[0]
    with pytest.raises(PermissionDenied):
        _export(rw, tmp_path / "cna", username="cna")
    refused_seq = ledger.head("audit")[0]
    assert refused_seq == before + 1
    _export(rw, tmp_path / "ro", username="surveyor")
    assert ledger.head("audit")[0] == refused_seq + 1
    conn = rw.world.store.connect_reader()
    try:
        kinds = [
            r[0]
            for r in conn.execute(
                "SELECT kind FROM audit WHERE seq > ? ORDER BY seq", (before,)
            ).fetchall()
        ]
    finally:
        conn.close()
    assert kinds == ["audit.permission_refused", "audit.exported"]


def test_export_window_is_half_open(rw: ReportWorld) -> None:
    queries = ReportQueries(rw.world.store.connect_reader())
    try:
        entries = queries.ledger_entries(local(7), local(12))
        first = entries[0]
        from mar_desktop.clock import parse_utc

        at = parse_utc(first.recorded_at)
        assert first.id not in {e.id for e in queries.ledger_entries(local(6), at)}
        assert first.id in {e.id for e in queries.ledger_entries(at, at + timedelta(seconds=1))}
    finally:
        queries.close()


def test_an_edited_export_re_signed_with_a_fresh_key_fails_against_the_facility_keys(
    rw: ReportWorld, tmp_path: Path
) -> None:
    """The attack: edit the CSV, recompute the manifest and sign it with a key of one's own.
    Intact by itself, it fails against the facility's keys, and without them the summary says
    the signer was not checked."""
    from mar_desktop.canonical import canonical_bytes, loads
    from mar_desktop.reports.export import load_facility_keys
    from mar_desktop.signing import DeviceSigner

    out = tmp_path / "export"
    _export(rw, out)
    csv = out / "entries.csv"
    csv.write_bytes(csv.read_bytes().replace(b"Given", b"Refused", 1))
    manifest = loads((out / "manifest.json").read_bytes())
    forger = DeviceSigner.generate()
    manifest["files"]["entries.csv"] = _file_facts(csv)
    manifest["public_key"] = forger.public_hex
    del manifest["signature"]
    manifest["signature"] = forger.sign(canonical_bytes(manifest)).hex()
    (out / "manifest.json").write_bytes(canonical_bytes(manifest) + b"\n")
    alone = check_export(out)
    assert alone.ok and alone.trusted_origin is None
    assert "NOT checked against the facility" in alone.summary()
    keys_file = tmp_path / "keys.json"
    keys_file.write_bytes(canonical_bytes(
        {"devices": [{"device_id": "d", "public_key": rw.world.store.ledger.public_key_hex}]}
    ))
    checked = check_export(out, trusted_keys=load_facility_keys(keys_file))
    assert not checked.ok and "not among the trusted keys" in checked.summary()


@pytest.mark.parametrize(
    ("content", "said"),
    [(b"{not json", "not JSON"), (b'{"devices": []}', "no device keys"),
     (b'{"devices": [{"public_key": "zz"}]}', "malformed"), (b"[1, 2]", "no device keys")],
)
def test_a_bad_facility_key_file_is_refused_with_the_reason(
    tmp_path: Path, content: bytes, said: str
) -> None:
    from mar_desktop.errors import ValidationError
    from mar_desktop.reports.export import load_facility_keys

    path = tmp_path / "keys.json"
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=said):
        load_facility_keys(path)
    with pytest.raises(ValidationError, match="Cannot read"):
        load_facility_keys(tmp_path / "absent.json")
