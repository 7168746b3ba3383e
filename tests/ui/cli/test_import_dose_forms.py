"""``mar-desktop import-fhir`` with a dose range and a daily amount maximum: the order is
imported with them and ``orders pending`` shows them to the verifier; a sliding scale is
refused with its reason and the entry's index."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.conftest import MemoryKeyring
from tests.mar_desktop.reports.test_fhir import SAMPLE
from tests.ui.cli.test_reports import as_user
from ui.cli.main import main
from ui.cli.store import open_store

UCUM = "http://unitsofmeasure.org"


@pytest.fixture
def seeded(tmp_path: Path, memory_keyring: MemoryKeyring) -> Path:
    folder = tmp_path / "data"
    assert main(["seed-demo", "--data-dir", str(folder), "--days", "0",
                 "--residents-per-unit", "1"]) == 0
    return folder


def _bundle(tmp_path: Path, resident_id: str) -> Path:
    data = json.loads(SAMPLE.read_text())
    [template] = [e for e in data["entry"] if e["resource"].get("id") == "rx-1002"]
    ranged = copy.deepcopy(template)
    ranged["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-000000000001"
    request = ranged["resource"]
    request["id"] = "rx-range"
    request["subject"] = {"reference": f"Patient/{resident_id}"}
    dosage = request["dosageInstruction"][0]
    dosage["doseAndRate"] = [{"doseRange": {
        "low": {"value": 325, "unit": "mg", "system": UCUM, "code": "mg"},
        "high": {"value": 650, "unit": "mg", "system": UCUM, "code": "mg"},
    }}]
    dosage["maxDosePerPeriod"]["numerator"] = {"value": 3, "unit": "g", "system": UCUM,
                                               "code": "g"}
    scale = copy.deepcopy(ranged)
    scale["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-000000000002"
    scale["resource"]["id"] = "rx-scale"
    scale["resource"]["dosageInstruction"][0]["text"] = "Insulin per sliding scale"
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [ranged, scale]}))
    return path


def test_a_range_and_a_daily_maximum_are_imported_and_shown_to_the_verifier(
    seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with open_store(seeded) as store:
        resident_id = store.reader().residents()[0].resident_id
    bundle = _bundle(tmp_path, resident_id)
    assert main(["import-fhir", str(bundle), "--data-dir", str(seeded),
                 *as_user(monkeypatch, "admin")]) == 2  # the sliding scale is refused
    out = capsys.readouterr().out
    assert "refused bundle entry 1: a sliding scale cannot be imported" in out
    assert "Imported 1 orders" in out
    with open_store(seeded) as store:
        [order] = [s.order for s in store.reader().orders([resident_id])
                   if s.order.dose_max is not None]
    assert (order.dose, order.dose_max, order.max_amount_24h) == (325, 650, 3)
    assert main(["orders", "pending", "--data-dir", str(seeded),
                 *as_user(monkeypatch, "nurse")]) == 0
    shown = capsys.readouterr().out
    assert "325–650 mg; at most 3 g Acetaminophen" in shown
