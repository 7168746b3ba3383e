"""Dialogs of the staff screen: a new account, unit assignment, and the one-time display of a
temporary password. GUI thread only."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.envelope import new_id
from mar_desktop.model import ALL_UNITS, Role, Unit, User
from mar_desktop.permissions import ALL_UNIT_ROLES
from ui.admin.forms import AdminForm, FieldError, text_of
from ui.widgets.common import button, card, label

ROLE_NAMES = {
    Role.FACILITY_ADMIN: "Facility admin",
    Role.DIRECTOR_OF_NURSING: "Director of nursing",
    Role.NURSE: "Nurse",
    Role.PHARMACIST: "Pharmacist",
    Role.CNA: "CNA / med aide",
    Role.READ_ONLY: "Read-only (surveyor)",
}


class UnitChecks(QWidget):
    """"All units", then one checkbox per unit. A choice is required: ticking nothing means no
    unit at all, which :meth:`chosen` refuses for a unit-scoped role (``required``). "All
    units" is chosen alone (it clears and greys the named units)."""

    def __init__(self, units: Sequence[Unit], chosen: Sequence[str] = ()) -> None:
        super().__init__()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.all_units = QCheckBox("All units (including units added later)")
        self.all_units.setObjectName("unit_all")
        self.all_units.setMinimumHeight(44)
        column.addWidget(self.all_units)
        self.boxes: list[tuple[QCheckBox, str]] = []
        for unit in units:
            box = QCheckBox(unit.name)
            box.setObjectName(f"unit_{unit.unit_id}")
            box.setMinimumHeight(44)
            box.setChecked(unit.unit_id in chosen)
            column.addWidget(box)
            self.boxes.append((box, unit.unit_id))
        self.note = label("", "muted", wrap=True)
        column.addWidget(self.note)
        self.all_units.toggled.connect(self._all_toggled)
        self.all_units.setChecked(tuple(chosen) == (ALL_UNITS,))
        self.required = True

    def _all_toggled(self, on: bool) -> None:
        for box, _uid in self.boxes:
            if on:
                box.setChecked(False)
            box.setEnabled(not on)

    def set_role_sees_all(self, sees_all: bool) -> None:
        """A role that sees every unit needs no choice: the boxes are greyed and say so."""
        self.required = not sees_all
        self.all_units.setEnabled(not sees_all)
        for box, _uid in self.boxes:
            box.setEnabled(not sees_all and not self.all_units.isChecked())
        self.note.setText("This role sees every unit." if sees_all
                          else "Choose the units, or All units.")

    def chosen(self) -> tuple[str, ...]:
        """The assignment: ``(ALL_UNITS,)``, the ticked unit ids, or () for a role that sees
        every unit. Raises FieldError("unit_ids") when a unit-scoped role has no choice."""
        if not self.required:
            return ()
        if self.all_units.isChecked():
            return (ALL_UNITS,)
        picked = tuple(uid for box, uid in self.boxes if box.isChecked())
        if not picked:
            raise FieldError("unit_ids", "Choose at least one unit, or All units. With none "
                             "ticked the person would see no resident.")
        return picked


def initials_for(name: str) -> str:
    return "".join(part[0] for part in name.split() if part)[:4].upper()


class NewUserDialog(AdminForm):
    """Name, username, initials, licence, role and units. ``submitted`` carries the User."""

    def __init__(self, units: Sequence[Unit], parent: QWidget | None) -> None:
        super().__init__(
            "New staff account",
            "A temporary password is made for the account and shown once, to hand over in "
            "person. At the first sign-in the person chooses a password and enrols an "
            "authenticator app.",
            "Create account", parent, wide=True)
        self.full_name = QLineEdit()
        self.add("full_name", "Full name (as printed on the MAR)", self.full_name)
        self.username = QLineEdit()
        self.add("username", "Username", self.username)
        self.initials = QLineEdit()
        self.initials.setMaxLength(4)
        self.add("initials", "Initials (1–4 letters)", self.initials)
        self.credentials = QLineEdit()
        self.credentials.setPlaceholderText("e.g. RN, LPN, CMA")
        self.add("credentials", "Licence / credentials", self.credentials)
        self.role = QComboBox()
        for role, name in ROLE_NAMES.items():
            self.role.addItem(name, role)
        self.role.setCurrentIndex(self.role.findData(Role.NURSE))
        self.add("role", "Role", self.role, column=1)
        self.units = UnitChecks(units)
        self.add("unit_ids", "Assigned units", self.units, column=1)
        self.role.currentIndexChanged.connect(self._role_changed)
        self._role_changed()
        self.form.hints = {"username": "Use lower-case letters, digits, dots, dashes or "
                                  "underscores, no spaces (e.g. j.smith)."}
        self.full_name.textEdited.connect(self._suggest)

    def _role_changed(self) -> None:
        self.units.set_role_sees_all(self.role.currentData() in ALL_UNIT_ROLES)

    def _suggest(self, name: str) -> None:
        self.initials.setText(initials_for(name))
        if not self.username.isModified():
            parts = name.lower().split()
            self.username.setText(".".join(p for p in (parts[:1] + parts[-1:]) if p)
                                  if len(parts) > 1 else "".join(parts))

    def build(self) -> User:
        """The account; the fields' own errors first, then a missing unit choice."""
        try:
            units, missing = self.units.chosen(), None
        except FieldError as error:
            units, missing = (), error
        user = User(
            user_id=new_id(),
            username=text_of(self.username),
            full_name=text_of(self.full_name),
            initials=text_of(self.initials).upper(),
            credentials=text_of(self.credentials),
            role=self.role.currentData(),
            unit_ids=units,
        )
        if missing is not None:
            raise missing
        return user


class UnitsDialog(AdminForm):
    def __init__(self, user: User, units: Sequence[Unit], parent: QWidget | None) -> None:
        super().__init__(f"Assigned units: {user.full_name}",
                         "A nurse or CNA sees only the residents of the assigned units, or of "
                         "every unit with All units (admins and surveyors see every unit).",
                         "Save units", parent)
        self.units = UnitChecks(units, user.unit_ids)
        self.units.set_role_sees_all(user.role in ALL_UNIT_ROLES)
        self.add("unit_ids", "Units", self.units, span=True)
        self.reason = QPlainTextEdit()
        self.reason.setFixedHeight(90)
        self.add("reason", "Reason", self.reason, span=True)

    def build(self) -> dict[str, object]:
        units = list(self.units.chosen())
        reason = text_of(self.reason)
        if not reason:
            raise FieldError("reason", "Required: say why, in a few words.")
        return {"unit_ids": units, "reason": reason}


class TemporaryPasswordDialog(QDialog):
    """Shows a temporary password once, large, until the admin confirms the hand-over.

    The password lives only in the label; ``done`` (any close, or the session locking, which
    rejects every dialog) wipes it."""

    def __init__(self, user: User, password: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName("temporaryPasswordDialog")
        self.setWindowTitle("Temporary password")
        self.setMinimumWidth(640)
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 20, 24, 20)
        column.setSpacing(12)
        column.addWidget(label(f"Temporary password for {user.full_name}", "subtitle", wrap=True))
        column.addWidget(label(f"Username: {user.username}", "", wrap=True))
        frame, inner = card()
        self.password = QLabel(password)
        self.password.setObjectName("temporaryPassword")
        self.password.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.password.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.password.setStyleSheet(
            "font-family: 'DejaVu Sans Mono'; font-size: 34px; font-weight: bold; "
            "color: #0a2540; background: #ffffff; padding: 10px;")
        inner.addWidget(self.password)
        column.addWidget(frame)
        column.addWidget(label(
            "ℹ Shown only this once. Hand it to the person in private; do not write it down "
            "where others can read it. They choose their own password at the first sign-in.",
            "muted", wrap=True))
        self.handed = QCheckBox("I have handed the password over")
        self.handed.setObjectName("handedOver")
        self.handed.setMinimumHeight(48)
        column.addWidget(self.handed)
        self.done_button = button("Done – hide the password", "primary", self.accept,
                                  name="handedOverDone")
        self.done_button.setEnabled(False)
        self.handed.toggled.connect(self.done_button.setEnabled)
        column.addWidget(self.done_button)

    def done(self, result: int) -> None:
        self.password.setText("")
        super().done(result)
