"""Staff accounts (facility admins): the list and every account action.

The table shows name, username, role, credentials (licence), what the unit assignment means,
and ONE status per account in glyph + words (:mod:`ui.admin.staff_status`). The panel beside
the table (under it on a portrait tablet) acts on the selected account: change role, change
units, unlock, reset authenticator, reset password, deactivate / reactivate. Each goes through
:class:`mar_desktop.people.accounts.AccountService` on the worker (which checks
``manage_users`` and audits); the reason is asked for where the service records one.

A new account's (or a reset's) temporary password is shown once, large, in
:class:`~ui.admin.user_dialogs.TemporaryPasswordDialog`, and dropped from memory when it closes.
GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QGridLayout, QPushButton, QTableWidgetItem, QWidget

from mar_desktop.model import Role, Unit, User
from mar_desktop.people.accounts import IssuedPassword
from mar_desktop.permissions import Principal
from mar_desktop.services.admin_reads import StaffAccount
from ui import theme
from ui.admin.base import AdminScreen, ReasonDialog, fit_columns, table
from ui.admin.staff_status import account_status, units_text
from ui.admin.user_dialogs import (
    ROLE_NAMES,
    NewUserDialog,
    TemporaryPasswordDialog,
    UnitsDialog,
)
from ui.backend import AdminServices
from ui.context import UiContext
from ui.widgets.common import button, card, label

COLUMNS = ("Name and username", "Role", "Units", "Account")


def state_text(row: StaffAccount) -> str:
    """The account's one status in words and a symbol, e.g. "✕ Locked"."""
    return account_status(row).text


@dataclass(frozen=True)
class UsersData:
    rows: list[StaffAccount]
    units: list[Unit]


def load_users(principal: Principal, services: AdminServices) -> UsersData:
    """Accounts with their sign-in state. Worker thread. Checks ``manage_users`` (audited)."""
    staff = services.reads.staff(principal)
    return UsersData(staff.accounts, staff.units)


class UsersScreen(AdminScreen):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Staff accounts",
                         "Create accounts, change roles and unit assignments, unlock and reset "
                         "sign-in. Every change is recorded with your name and reason.", parent)
        self.new_button = button("+ New account…", "primary", self.new_user, name="newUser")
        self.head.insertWidget(2, self.new_button)
        self.data = UsersData([], [])
        self.last_issued: str | None = None  # the user id of the last temporary password
        body = self._body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        body.setSpacing(14)
        self.table = table(COLUMNS, "usersTable")
        self.fitter = fit_columns(self.table)
        self.table.itemSelectionChanged.connect(self._selected)
        body.addWidget(self.table, 1)
        panel, side = card()
        panel.setObjectName("userPanel")
        self.panel = panel
        self.who = label("Choose an account in the list.", "subtitle", wrap=True)
        side.addWidget(self.who)
        self.detail = label("", "muted", wrap=True)
        self.detail.setObjectName("userDetail")
        side.addWidget(self.detail)
        self._buttons = QGridLayout()
        self._buttons.setSpacing(10)
        side.addLayout(self._buttons)
        self.account_actions: dict[str, QPushButton] = {}
        for key, text, kind, handler in (
            ("role", "Change role…", "", self.change_role),
            ("units", "Assigned units…", "", self.change_units),
            ("unlock", "Unlock sign-in…", "", self.unlock),
            ("mfa", "Reset authenticator…", "", self.reset_mfa),
            ("password", "Reset password…", "", self.reset_password),
            ("active", "Deactivate…", "danger", self.toggle_active),
        ):
            widget = button(text, kind, handler, name=f"user_{key}")
            self.account_actions[key] = widget
        side.addStretch(1)
        body.addWidget(panel)
        self.outer.addLayout(body, 1)
        self._columns = 0
        self._place_buttons(1)
        self._selected()

    def _place_buttons(self, columns: int) -> None:
        """The actions in one column beside the table, or two under it (portrait)."""
        if columns == self._columns:
            return
        self._columns = columns
        for widget in self.account_actions.values():
            self._buttons.removeWidget(widget)
        for index, widget in enumerate(self.account_actions.values()):
            self._buttons.addWidget(widget, index // columns, index % columns)

    def resizeEvent(self, event: QResizeEvent) -> None:
        wide = self.width() >= theme.NARROW_WIDTH
        self._body.setDirection(QBoxLayout.Direction.LeftToRight if wide
                                else QBoxLayout.Direction.TopToBottom)
        self._place_buttons(1 if wide else 2)
        super().resizeEvent(event)

    # ---- data ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.run(load_users, self._loaded)

    def _loaded(self, data: UsersData) -> None:
        if self.ctx.principal() is None:
            return
        keep = self.selected_user()
        self.data = data
        names = {u.unit_id: u.name for u in data.units}
        self.table.setRowCount(len(data.rows))
        for index, row in enumerate(data.rows):
            user = row.user
            name = f"{user.full_name}, {user.credentials}" if user.credentials \
                else user.full_name
            values = (f"{name}\n{user.username}", ROLE_NAMES[user.role], units_text(row, names),
                      state_text(row))
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, user.user_id)
                self.table.setItem(index, col, item)
            if keep is not None and user.user_id == keep.user.user_id:
                self.table.selectRow(index)
        self.fitter.fit()
        self._selected()

    def rows_by_username(self) -> dict[str, StaffAccount]:
        return {r.user.username: r for r in self.data.rows}

    def select_username(self, username: str) -> None:
        for index, row in enumerate(self.data.rows):
            if row.user.username == username:
                self.table.selectRow(index)
                return

    def selected_user(self) -> StaffAccount | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        index = rows[0].row()
        return self.data.rows[index] if 0 <= index < len(self.data.rows) else None

    def _selected(self) -> None:
        row = self.selected_user()
        for widget in self.account_actions.values():
            widget.setVisible(row is not None)
            widget.setEnabled(row is not None)
        if row is None:
            self.who.setText("Choose an account in the list.")
            self.detail.setText("")
            return
        user = row.user
        self.who.setText(user.full_name)
        status = account_status(row)
        names = {u.unit_id: u.name for u in self.data.units}
        self.detail.setText(f"{ROLE_NAMES[user.role]} · {user.username}\n"
                            f"Units: {units_text(row, names)}\n{status.text}: {status.meaning}")
        active_button = self.account_actions["active"]
        active_button.setText("Deactivate…" if user.active else "Reactivate…")
        me = self.ctx.principal()
        self_selected = me is not None and me.user.user_id == user.user_id
        active_button.setEnabled(not (self_selected and user.active))
        self.account_actions["unlock"].setEnabled(row.locked or row.failures > 0)
        if self_selected:
            active_button.setToolTip("You cannot deactivate your own account.")

    def clear_phi(self) -> None:
        super().clear_phi()
        self.data = UsersData([], [])
        self.table.clearContents()
        self.table.setRowCount(0)
        self._selected()

    # ---- actions ------------------------------------------------------------------------------
    def _done(self, message: str) -> Callable[[object], None]:
        def done(_result: object) -> None:
            self.banner.show_message("ok", message)
            self.refresh()
        return done

    def new_user(self) -> None:
        dialog = NewUserDialog(self.data.units, self)

        def work(principal: Principal, services: AdminServices, user: object) -> IssuedPassword:
            assert isinstance(user, User)
            return services.accounts.create_user(principal, user)

        self.submit_form(dialog, work, self._issued)

    def _issued(self, issued: IssuedPassword) -> None:
        user = issued.user
        self.last_issued = user.user_id
        shown = TemporaryPasswordDialog(user, issued.temporary_password, self)
        del issued
        shown.open()
        self.banner.show_message(
            "ok", f"Account {user.username} is ready. It must change the temporary password and "
            "enrol an authenticator at the first sign-in.")
        self.refresh()
        self.select_username(user.username)

    def _user_action(self, title: str, intro: str, action: str, call, message: str,  # type: ignore[no-untyped-def]
                     *, required: bool = True, danger: bool = False, setup=None, done=None) -> None:
        row = self.selected_user()
        if row is None:
            return
        user = row.user
        dialog = ReasonDialog(f"{title}: {user.full_name}", intro, action, self,
                              required=required, danger=danger)
        if setup is not None:
            setup(dialog, row)

        def work(principal: Principal, services: AdminServices, values: object) -> object:
            assert isinstance(values, dict)
            return call(principal, services, user, values)

        self.submit_form(dialog, work, done or self._done(message))

    def change_role(self) -> None:
        def setup(dialog: ReasonDialog, row: StaffAccount) -> None:
            dialog.add_choice("role", "New role", [(ROLE_NAMES[r], r) for r in Role],
                              row.user.role)

        self._user_action(
            "Change role", "The role decides what the person may do (see the permission list).",
            "Change role",
            lambda p, s, u, v: s.accounts.change_role(p, u.user_id, v["role"], v["reason"]),
            "Role changed.", setup=setup)

    def change_units(self) -> None:
        row = self.selected_user()
        if row is None:
            return
        dialog = UnitsDialog(row.user, self.data.units, self)

        def work(principal: Principal, services: AdminServices, values: object) -> object:
            assert isinstance(values, dict)
            return services.accounts.change_units(principal, row.user.user_id,
                                                  values["unit_ids"], values["reason"])

        self.submit_form(dialog, work, self._done("Unit assignment changed."))

    def unlock(self) -> None:
        self._user_action(
            "Unlock sign-in", "Clears the failed sign-ins and the lock on this device.",
            "Unlock", lambda p, s, u, v: s.accounts.unlock(p, u.user_id, v["reason"]),
            "Account unlocked.", required=False)

    def reset_mfa(self) -> None:
        self._user_action(
            "Reset authenticator",
            "Removes the authenticator app and the recovery codes. At the next sign-in the "
            "person enrols a new authenticator after the password.",
            "Reset authenticator",
            lambda p, s, u, v: s.accounts.reset_mfa(p, u.user_id, v["reason"]),
            "Authenticator reset: the person enrols again at the next sign-in.", danger=True)

    def reset_password(self) -> None:
        self._user_action(
            "Reset password",
            "Sets a new temporary password, shown once, to hand over in person. It must be "
            "changed at the next sign-in.",
            "Reset password",
            lambda p, s, u, v: s.accounts.reset_password(p, u.user_id, v["reason"]),
            "", danger=True, done=self._issued)

    def toggle_active(self) -> None:
        row = self.selected_user()
        if row is None:
            return
        if row.user.active:
            self._user_action(
                "Deactivate account",
                "The person can no longer sign in or witness. Their past records stay.",
                "Deactivate",
                lambda p, s, u, v: s.accounts.deactivate(p, u.user_id, v["reason"]),
                "Account deactivated.", danger=True)
        else:
            self._user_action(
                "Reactivate account", "The person can sign in again with their password.",
                "Reactivate",
                lambda p, s, u, v: s.accounts.reactivate(p, u.user_id, v["reason"]),
                "Account reactivated.")

