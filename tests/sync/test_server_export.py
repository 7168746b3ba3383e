"""``mar-server export``: the surveyor export of a window made from the server's store (SQLite
and PostgreSQL) is the tablet's export — the same files, checked by the same
``mar-desktop check-export`` — and agrees entry for entry, column for column, with the export of
the same window from a tablet that holds it. A changed byte fails the check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pdfplumber
import pytest
import trustme

from mar_desktop.demo.seed import SeedResult
from mar_desktop.reports.csv_export import read_entries_csv
from mar_desktop.reports.export import check_export, write_surveyor_export
from mar_desktop.reports.gather import ReportService
from mar_desktop.services.reference import ReferenceService
from storage.report_queries import ReportQueries
from sync.server import cli as server_cli
from sync.server.audit import EXPORTED
from tests.facility import NOW
from tests.sync.conftest import Site, start_site, stop_site
from tests.sync.server.conftest import store_url  # noqa: F401 - SQLite and PostgreSQL
from tests.sync.world import Cart, cart, next_slot, plain_orders, seed
from ui.cli.main import main as desktop_main


@pytest.fixture
def world(
    tmp_path: Path, cert_files: Path, ca: trustme.CA, store_url: str  # noqa: F811
) -> Iterator[tuple[Site, Cart, SeedResult]]:
    """A facility whose one cart recorded doses (one voided, one with an amended note), all
    synced to the server."""
    site = start_site(tmp_path, store_url, cert_files, ca)
    try:
        a = cart(site, "cart-a")
        seeded = seed(a)
        nurse = a.principal(seeded, "nurse")
        given = []
        for resident, order in plain_orders(seeded, 3):
            slot = next_slot(a, order)
            a.clock.set(slot)  # type: ignore[arg-type]
            given.append(a.give(seeded, order, resident, slot))
        a.recording.void_entry(nurse, given[0].id, "Charted on the wrong resident's row")
        a.recording.amend_note(nurse, given[-1].id, "Taken with applesauce")
        admin = a.principal(seeded, "admin")
        moved, gone = given[1], given[2]  # residents whose labels change after their doses
        units = [u.unit_id for u in seeded.demo.units]
        reference = ReferenceService(a.ports)
        moved_to = units[-1] if len(units) > 1 else units[0]
        reference.transfer_resident(admin, moved.body["resident_id"], moved_to, "312B")
        reference.discharge_resident(admin, gone.body["resident_id"], "Moved to family")
        a.clock.set(a.clock.now() + timedelta(minutes=5))
        a.tab.engine.sync_once()
        yield site, a, seeded
    finally:
        stop_site(site)


def _tablet_export(a: Cart, seeded: SeedResult, out: Path, since: object, until: object) -> None:
    queries = ReportQueries(a.tab.store.connect_reader())
    try:
        data = ReportService(a.ports).export_data(
            a.principal(seeded, "admin"), since=since, until=until, entries=queries  # type: ignore[arg-type]
        )
        device_id, signer = queries.device_signer()
    finally:
        queries.close()
    write_surveyor_export(data, out, signer=signer, device_id=device_id, verification="OK")


def test_a_server_export_checks_and_agrees_with_the_tablets(
    world: tuple[Site, Cart, SeedResult], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site, a, seeded = world
    since, until = NOW - timedelta(days=1), a.clock.now() + timedelta(hours=1)
    server_out, tablet_out = tmp_path / "from-server", tmp_path / "from-tablet"
    assert server_cli.main([
        "--data", str(site.data), "--db", site.db_url, "export", "--from", since.isoformat(),
        "--to", until.isoformat(), "--out", str(server_out), "--by", "Dana Whitfield",
    ]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"Wrote the export to {server_out}") and "OK: " in said
    assert site.core.public_key in said  # how to check it, with the key to trust

    # The tablet's checker passes it, signed by the facility's server key.
    key = site.core.public_key
    result = check_export(server_out, trusted_keys=[key])
    assert result.ok and result.trusted_origin, result.problems
    assert result.manifest["exported_by"]["name"] == "Dana Whitfield"
    assert desktop_main(["check-export", str(server_out), "--trusted-key", key]) == 0

    # The same window from the tablet that holds it: the same entries, the same columns.
    _tablet_export(a, seeded, tablet_out, since, until)
    server_rows = read_entries_csv(server_out / "entries.csv")
    tablet_rows = read_entries_csv(tablet_out / "entries.csv")
    assert len(server_rows) >= 10
    assert [r["entry_id"] for r in server_rows] == [r["entry_id"] for r in tablet_rows]
    assert server_rows == tablet_rows
    assert any(r["voided"] == "yes" for r in server_rows)
    assert any(r["amended_note"] == "Taken with applesauce" for r in server_rows)
    assert any(r["resident"].startswith("312B ") for r in server_rows)  # after the transfer
    with pdfplumber.open(server_out / "entries.pdf") as pdf:
        text = " ".join(" ".join((p.extract_text() or "").split()) for p in pdf.pages)
    assert "Charted on the wrong resident's row" in text and "Exported by Dana Whitfield" in text

    # The server's audit says who exported what window, and how many entries.
    rows = [r for r in site.core.store.audit_rows(None, None, None, 10_000) if r.action == EXPORTED]
    assert len(rows) == 1 and rows[0].address is not None and rows[0].address.startswith("cli:")
    assert f"{len(server_rows)} entries" in rows[0].detail

    # One changed byte in any file fails the check (exit 5).
    pdf_file = server_out / "entries.csv"
    raw = bytearray(pdf_file.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    pdf_file.write_bytes(bytes(raw))
    assert not check_export(server_out, trusted_keys=[key]).ok
    assert desktop_main(["check-export", str(server_out), "--trusted-key", key]) == 5


def test_a_server_export_refuses_a_folder_in_use_and_a_backwards_window(
    world: tuple[Site, Cart, SeedResult], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site, _a, _seeded = world
    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("x")
    base = ["--data", str(site.data), "--db", site.db_url, "export", "--by", "Dana Whitfield"]
    assert server_cli.main([*base, "--from", "2026-03-01", "--to", "2026-03-03",
                            "--out", str(used)]) == 2
    assert "new or empty" in capsys.readouterr().err
    assert server_cli.main([*base, "--from", "2026-03-03", "--to", "2026-03-01",
                            "--out", str(tmp_path / "new")]) == 2
    assert "end after it starts" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
