"""The "Assign rooms" dialog (nurse, director of nursing): pick a CNA or nurse, a unit, the
rooms and/or residents, and the shift (this one by default, or the next), then assign
(``AssignmentService.assign``: a signed entry that reaches every tablet, audited).

GUI thread; every read and the assignment run on the worker. Touch-sized: 52 px rows, whole
rows toggle, the lists scroll inside the dialog so it fits 1280×800, 800×1280 and 1920×1080.
Shows resident names and rooms (PHI): the main window rejects the dialog when the session
locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QWidget,
)

from mar_desktop.model import Resident, Unit, User
from mar_desktop.permissions import Principal
from mar_desktop.reports.shifts import ShiftWindow
from mar_desktop.shift_assignment import ShiftAssignment, clean_rooms, room_key, rooms_text
from ui.context import UiContext
from ui.screens.dialogs import FormDialog
from ui.touch import kinetic
from ui.widgets.common import label

ROW_HEIGHT = 52


@dataclass(frozen=True)
class AssignChoices:
    people: list[User]
    units: list[Unit]
    shifts: tuple[ShiftWindow, ShiftWindow]
    zone: ZoneInfo


def _short(window: ShiftWindow) -> str:
    """E.g. "Day shift 07:00–15:00" (the day is in the tooltip)."""
    return f"{window.shift.label} {window.shift.span_text()}"


def _checklist(name: str) -> QListWidget:
    widget = QListWidget()
    widget.setObjectName(name)
    widget.setMinimumHeight(4 * ROW_HEIGHT)
    widget.setUniformItemSizes(True)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    kinetic(widget)

    def toggle(item: QListWidgetItem) -> None:  # a tap anywhere on the row toggles it
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    widget.itemClicked.connect(toggle)
    return widget


def _add_check(widget: QListWidget, text: str, data: str) -> None:
    item = QListWidgetItem(text)
    item.setData(Qt.ItemDataRole.UserRole, data)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
    item.setCheckState(Qt.CheckState.Unchecked)
    item.setSizeHint(QSize(0, ROW_HEIGHT))
    widget.addItem(item)


def checked(widget: QListWidget) -> list[str]:
    return [
        str(widget.item(i).data(Qt.ItemDataRole.UserRole))
        for i in range(widget.count())
        if widget.item(i).checkState() == Qt.CheckState.Checked
    ]


def set_checked(widget: QListWidget, values: set[str]) -> None:
    for i in range(widget.count()):
        item = widget.item(i)
        state = item.data(Qt.ItemDataRole.UserRole) in values
        item.setCheckState(Qt.CheckState.Checked if state else Qt.CheckState.Unchecked)


class AssignRoomsDialog(FormDialog):
    """See the module docstring. ``submitted`` carries user_id, unit_id, rooms, resident_ids
    and next_shift."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(
            "Assign rooms",
            "The person's med pass and resident list show only what you choose here, for the "
            "shift; they can still see their whole unit by giving a reason.",
            "Assign",
            parent,
        )
        self.setMinimumWidth(700)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.addWidget(label("Person"), 0, 0)
        grid.addWidget(label("Unit"), 0, 1)
        self.person = QComboBox()
        self.person.setObjectName("assignPerson")
        self.unit = QComboBox()
        self.unit.setObjectName("assignUnit")
        for combo in (self.person, self.unit):
            combo.setMinimumHeight(ROW_HEIGHT)
        grid.addWidget(self.person, 1, 0)
        grid.addWidget(self.unit, 1, 1)
        self.this_shift = QRadioButton("This shift")
        self.this_shift.setObjectName("assignThisShift")
        self.next_shift = QRadioButton("Next shift")
        self.next_shift.setObjectName("assignNextShift")
        self.this_shift.setChecked(True)
        self._shift_group = QButtonGroup(self)
        for column, radio in enumerate((self.this_shift, self.next_shift)):
            radio.setMinimumHeight(ROW_HEIGHT)
            self._shift_group.addButton(radio)
            grid.addWidget(radio, 2, column)
        self.current = label("", "muted", wrap=True)
        self.current.setObjectName("assignCurrent")
        grid.addWidget(self.current, 3, 0, 1, 2)
        grid.addWidget(label("Rooms"), 4, 0)
        grid.addWidget(label("Or residents by name"), 4, 1)
        self.rooms = _checklist("assignRoomsList")
        self.residents = _checklist("assignResidentsList")
        grid.addWidget(self.rooms, 5, 0)
        grid.addWidget(self.residents, 5, 1)
        self.fields.addLayout(grid)

    # ---- filling ------------------------------------------------------------------------------
    def show_choices(self, choices: AssignChoices) -> None:
        self.person.clear()
        for user in choices.people:
            role = "Nurse" if user.role.value == "nurse" else "CNA"
            self.person.addItem(f"{user.full_name} · {role}", user.user_id)
        self.unit.clear()
        for unit in choices.units:
            self.unit.addItem(unit.name, unit.unit_id)
        this, following = choices.shifts
        self.this_shift.setText(f"This shift: {_short(this)}")
        self.next_shift.setText(f"Next: {_short(following)}")
        self.this_shift.setToolTip(this.describe(choices.zone))
        self.next_shift.setToolTip(following.describe(choices.zone))

    def show_residents(self, residents: list[Resident]) -> None:
        self.rooms.clear()
        self.residents.clear()
        by_room: dict[str, list[Resident]] = {}
        for resident in residents:
            by_room.setdefault(resident.room, []).append(resident)
        for room in sorted(by_room, key=room_key):
            names = "; ".join(r.display_name for r in by_room[room])
            _add_check(self.rooms, f"{room} · {names}", room)
        for resident in sorted(residents, key=lambda r: (room_key(r.room), r.display_name)):
            _add_check(self.residents, f"{resident.display_name} · {resident.room}",
                       resident.resident_id)

    def show_current(self, assignment: ShiftAssignment | None, unit_id: str) -> None:
        """What the chosen person has now (pre-checked when on the chosen unit)."""
        if assignment is None:
            self.current.setText("No assignment for this shift yet: they see their whole "
                                 "unit.")
            return
        rooms = rooms_text(assignment.rooms) or "no rooms"
        named = len(assignment.resident_ids)
        extra = f" and {named} named resident{'s' if named != 1 else ''}" if named else ""
        self.current.setText(f"Now assigned: {rooms}{extra}. Assigning replaces it.")
        if assignment.unit_id == unit_id:
            set_checked(self.rooms, set(assignment.rooms))
            set_checked(self.residents, set(assignment.resident_ids))

    # ---- the form -----------------------------------------------------------------------------
    def missing(self) -> str:
        if self.person.currentData() is None or self.unit.currentData() is None:
            return "Choose a person and a unit."
        if not checked(self.rooms) and not checked(self.residents):
            return "Choose at least one room or resident."
        return ""

    def values(self) -> dict[str, object]:
        return {
            "user_id": str(self.person.currentData()),
            "unit_id": str(self.unit.currentData()),
            "rooms": list(clean_rooms(checked(self.rooms))),
            "resident_ids": checked(self.residents),
            "next_shift": self.next_shift.isChecked(),
        }


def open_assign_rooms(ctx: UiContext, parent: QWidget) -> AssignRoomsDialog | None:
    """Opens the dialog over ``parent`` and fills it from the worker; on submit assigns, then
    closes (a refusal shows in the dialog). Returns None when the backend has no assignment
    service."""
    service = ctx.backend.assignments
    if service is None:
        return None
    mar = ctx.backend.mar
    dialog = AssignRoomsDialog(parent)

    def choices(principal: Principal) -> AssignChoices:
        return AssignChoices(service.assignable_people(principal),
                             mar.units_in_scope(principal), service.shifts(),
                             mar.facility().zone)

    def load_unit() -> None:
        unit_id, user_id = dialog.unit.currentData(), dialog.person.currentData()
        if unit_id is None:
            return
        next_shift = dialog.next_shift.isChecked()

        def read(p: Principal) -> tuple[list[Resident], ShiftAssignment | None]:
            residents = service.unit_residents(p, str(unit_id))
            if user_id is None:
                return residents, None
            at = service.shifts()[1].start if next_shift else None
            return residents, service.assignment_of(p, str(user_id), at)

        def shown(result: tuple[list[Resident], ShiftAssignment | None]) -> None:
            dialog.show_residents(result[0])
            dialog.show_current(result[1], str(unit_id))

        ctx.run(read, shown, dialog.fail)

    def filled(found: AssignChoices) -> None:
        dialog.show_choices(found)
        dialog.unit.currentIndexChanged.connect(lambda _i: load_unit())
        dialog.person.currentIndexChanged.connect(lambda _i: load_unit())
        dialog.next_shift.toggled.connect(lambda _on: load_unit())
        load_unit()

    def submitted(values: dict[str, object]) -> None:
        def work(p: Principal) -> ShiftAssignment:
            return service.assign(
                p, str(values["user_id"]), str(values["unit_id"]),
                rooms=list(values["rooms"]),  # type: ignore[call-overload]
                resident_ids=list(values["resident_ids"]),  # type: ignore[call-overload]
                next_shift=bool(values["next_shift"]),
            )

        if ctx.run(work, lambda _a: dialog.accept(), dialog.fail) is None:
            dialog.reject()

    dialog.submitted.connect(submitted)
    if ctx.run(choices, filled, dialog.fail) is None:
        dialog.deleteLater()
        return None
    dialog.open()
    return dialog
