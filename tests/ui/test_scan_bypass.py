"""A scan bypassed on the dose screen: "Medication checked by hand" asks why, as one-tap
choices from the facility list; Confirm without a choice is refused under that field and
nothing is recorded; with one, the dose is recorded with its overrides entry, and the resident's
history shows the override in words."""

from __future__ import annotations

from mar_desktop import kinds
from mar_desktop.envelope import parse_raw
from mar_desktop.model import Outcome
from tests.ui.harness import Facility1
from tests.ui.steps import button_named, idle, open_resident_by_wristband, sign_in, tap, wait
from tests.ui.test_med_pass import records
from ui.main_window import MainWindow
from ui.tasks import TaskRunner
from ui.widgets.choices import ChoiceRow


def overrides_bodies(runner: TaskRunner, facility: Facility1) -> list[dict[str, object]]:
    """The bodies of every overrides entry, read on the worker (never on the GUI thread)."""

    def read() -> list[dict[str, object]]:
        conn = facility.store.connect_reader()
        try:
            rows = conn.execute(
                "SELECT raw FROM ledger WHERE kind = ?", (kinds.ADMINISTRATION_OVERRIDES,)
            ).fetchall()
        finally:
            conn.close()
        return [parse_raw(bytes(r[0])).body for r in rows]

    result: list[dict[str, object]] = runner.run_on_worker(read)
    return result


def test_a_medication_bypass_needs_a_reason_from_the_list_and_is_recorded(
    qtbot: object, window: MainWindow, facility: Facility1, runner: TaskRunner
) -> None:
    sign_in(qtbot, window, facility, "nurse")
    open_resident_by_wristband(qtbot, window, "WB100001")
    wait(qtbot, window.mar.prn.texts)
    window.mar.prn.table.cellClicked.emit(0, 0)  # the PRN order, opened without a scan
    admin = window.administration
    wait(qtbot, lambda: window.stack.currentWidget() is admin)
    idle(qtbot, window)
    assert admin.bedside.identity_check.text() == "✓ Wristband scanned"
    assert admin.bedside.medication_check.text() == "○ Scan the medication"
    assert "bypass_medication" not in admin.form.fields

    tap(qtbot, button_named(window, "medicationByHand"))
    reasons = admin.form.fields["bypass_medication"]
    assert isinstance(reasons, ChoiceRow) and reasons.value() is None
    tap(qtbot, admin.form.outcome_buttons[Outcome.GIVEN])
    admin.form.fields["prn_reason"].setText("Headache")
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: admin.form.field_error("bypass_medication") != "")
    idle(qtbot, window)
    assert admin.form.field_error("bypass_medication") == (
        "Choose why the medication was not scanned."
    )
    assert records(facility, "o-prn") == [] and overrides_bodies(runner, facility) == []

    damaged = next(b for b in reasons.findChildren(type(button_named(window, "confirmDose")))
                   if b.accessibleName() == "Barcode damaged or unreadable")
    tap(qtbot, damaged)
    assert admin.form.bypass_reason("medication") == "barcode_damaged"
    tap(qtbot, admin.confirm)
    wait(qtbot, lambda: records(facility, "o-prn"))
    (record,) = records(facility, "o-prn")
    (body,) = overrides_bodies(runner, facility)
    assert body["administration_entry_id"] == record.entry_id
    assert [(o["code"], o["reason"]) for o in body["overrides"]] == [  # type: ignore[union-attr,index]
        ("medication_not_scanned", "Barcode damaged or unreadable")
    ]
    wait(qtbot, lambda: window.stack.currentWidget() is window.mar)
    wait(qtbot, lambda: any(
        "Medication not scanned: checked by hand: Barcode damaged or unreadable" in t
        for t in window.mar.history.texts()
    ))
    assert not any("medication_not_scanned" in t for t in window.mar.history.texts())
