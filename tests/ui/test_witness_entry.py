"""The witness is proven, through the dose screen: the witness's sign-in writes its own signed
entry naming this dose, the dose is stored under the id that entry names, the history says
"Witnessed by …" from it; "Record waste" on the history row records a witnessed waste (the
giver refused as its witness); a wrong dose typed after the witness signed records nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

from mar_desktop import kinds
from mar_desktop.clinical.witness import user_signature_ok
from mar_desktop.model import Outcome
from tests.ui.harness import OXYCODONE_GTIN, PASSWORD, Facility1
from tests.ui.steps import button_named, idle, open_dialog, select_history, sign_in, tap, wait
from tests.ui.test_bedside_rules import given_records, start_dose
from ui.main_window import MainWindow


def witness_entries(facility: Facility1) -> list[kinds.WitnessAttested]:
    """The ``witness.attested`` entries, read off the GUI thread (as a screen never does)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_witness_entries, facility).result()


def _witness_entries(facility: Facility1) -> list[kinds.WitnessAttested]:
    conn = facility.store.connect_reader()
    try:
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM ledger WHERE kind = ? ORDER BY rowid", (kinds.WITNESS_ATTESTED,))]
    finally:
        conn.close()
    found = []
    for entry_id in ids:
        entry = facility.store.ledger.entry(entry_id)
        assert entry is not None and entry.actor["user_id"] == "u-nurse2"
        body = kinds.parse_body(entry.kind, dict(entry.body))
        assert isinstance(body, kinds.WitnessAttested)
        found.append(body)
    return found


def sign_witness(qtbot: object, window: MainWindow, facility: Facility1) -> None:
    tap(qtbot, window.findChild(object, "witnessSignIn"))
    dialog = open_dialog(qtbot)
    dialog.username.setText("nurse2")
    dialog.password.setText(PASSWORD)
    dialog.code.setText(facility.code("nurse2"))
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: window.administration.witness_state.text().startswith("✓ Tobias Brandt"))


def test_the_witness_sign_in_is_its_own_entry_the_dose_references(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    start_dose(qtbot, window, "WB100002", OXYCODONE_GTIN)
    admin = window.administration
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    sign_witness(qtbot, window, facility)
    (attested,) = witness_entries(facility)
    assert attested.purpose == "administration"
    assert attested.device_id == facility.store.device_id
    assert attested.giver_user_id == "u-nurse"
    assert (attested.dose.resident_id, attested.dose.order_id) == ("r2", "o-oxy")
    assert attested.dose.amount == Decimal("5") and attested.dose.unit == "mg"
    assert attested.dose.scheduled_for is not None
    assert attested.user_sig is not None  # signed with the witness's own key
    assert user_signature_ok(attested, attested.user_public)
    assert given_records(facility, "o-oxy") == []  # the sign-in alone records no dose

    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: given_records(facility, "o-oxy"))
    (record,) = given_records(facility, "o-oxy")
    assert record.entry_id == attested.record_entry_id
    assert record.witness_user_id == "u-nurse2"  # the embedded attestation, for older tablets
    assert record.witnessed_by == "Tobias Brandt LPN"
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar and any(
        "Witnessed by Tobias Brandt LPN" in t for t in window.mar.history.texts()))

    # Record waste from the history row: amount, reason and the witness in one form.
    select_history(qtbot, window, record.entry_id)
    tap(qtbot, button_named(window, "recordWaste"))
    dialog = open_dialog(qtbot)
    dialog.amount.setText("2.5")
    dialog.reason.setText("Half tablet dropped on the floor")
    dialog.username.setText("nurse")  # the giver cannot witness their own waste
    dialog.password.setText(PASSWORD)
    dialog.code.setText(facility.code("nurse"))
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: "different person" in (dialog.field_error() + dialog.banner.text()))
    facility.clock.advance(timedelta(seconds=31))  # a fresh authenticator code for the witness
    dialog.username.setText("nurse2")
    dialog.password.setText(PASSWORD)
    dialog.code.setText(facility.code("nurse2"))
    tap(qtbot, dialog.ok)
    wait(qtbot, lambda: given_records(facility, "o-oxy")[0].wastes
         or dialog.field_error() or dialog.banner.text())
    assert given_records(facility, "o-oxy")[0].wastes, dialog.field_error() + dialog.banner.text()
    (waste,) = given_records(facility, "o-oxy")[0].wastes
    assert waste.amount == Decimal("2.5") and waste.unit == "mg" and waste.witness_proven
    assert waste.reason == "Half tablet dropped on the floor"
    assert [w.purpose for w in witness_entries(facility)] == ["administration", "waste"]
    wait(qtbot, lambda: any("Wasted 2.5 mg" in t and "witnessed by Tobias Brandt" in t
                            for t in window.mar.history.texts()))
    idle(qtbot, window)


def test_a_wrong_dose_after_the_witness_signed_records_nothing_and_the_sign_in_still_counts(
    qtbot: object, window: MainWindow, facility: Facility1
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    start_dose(qtbot, window, "WB100002", OXYCODONE_GTIN)
    admin = window.administration
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    sign_witness(qtbot, window, facility)
    admin.form.fields["dose"].setText("10")
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: "not the ordered dose" in admin.form.field_error("dose"))
    idle(qtbot, window)
    assert given_records(facility, "o-oxy") == []
    admin.form.fields["dose"].setText("5")
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: given_records(facility, "o-oxy"))
