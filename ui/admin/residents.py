"""Residents and their orders (facility admins): admit, edit, transfer, discharge; for the
selected resident add, change, hold, resume and discontinue orders.

Everything goes through ``ReferenceService`` on the worker (it checks ``manage_residents`` /
``manage_orders`` and the unit scope, and records ledger + audit entries); validation errors
are shown next to the field in the dialog. Shows PHI: ``clear_phi()`` empties it. GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from zoneinfo import ZoneInfo

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QHBoxLayout,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mar_desktop.clinical.dose import order_dose_text
from mar_desktop.model import Order, Resident
from mar_desktop.permissions import Principal
from mar_desktop.services.admin_reads import ResidentRegister
from mar_desktop.views import OrderState, OrderStatus
from ui import theme
from ui.admin.base import AdminScreen, ReasonDialog, fit_columns, table
from ui.admin.order_dialog import OrderDialog
from ui.admin.photos import photo_from_file
from ui.admin.resident_dialogs import ResidentDialog, TransferDialog
from ui.backend import AdminServices
from ui.context import UiContext
from ui.widgets.common import button, label

RESIDENT_COLUMNS = ("Room", "Resident", "Born", "Unit", "Allergies", "Status")
ORDER_COLUMNS = ("Medication", "Dose", "When", "Status")
STATUS_WORDS = {OrderStatus.ACTIVE: "✓ Active", OrderStatus.HELD: "‖ ON HOLD",
                OrderStatus.DISCONTINUED: "⊘ Discontinued"}

T = TypeVar("T")


def load_residents(principal: Principal, services: AdminServices) -> ResidentRegister:
    return services.reads.resident_register(principal)


def schedule_text(order: Order) -> str:
    schedule = order.schedule
    if schedule.kind == "fixed_times":
        days = "" if schedule.days_of_week is None else " on " + ",".join(
            ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d] for d in schedule.days_of_week)
        return ", ".join(schedule.times) + days
    if schedule.kind == "every_n_hours":
        return f"every {schedule.every_hours} h from {schedule.anchor}"
    parts = ["PRN"]
    if schedule.prn_min_interval_minutes:
        parts.append(f"≥ {schedule.prn_min_interval_minutes} min apart")
    if schedule.prn_max_doses_24h:
        parts.append(f"max {schedule.prn_max_doses_24h}/24 h")
    return ", ".join(parts)


def order_flags(order: Order) -> str:
    flags = []
    if order.controlled_schedule:
        flags.append(f"C-{order.controlled_schedule}")
    if order.time_critical:
        flags.append("time-critical")
    for hold in order.hold_parameters:
        limits = [f"< {hold.minimum}" if hold.minimum is not None else "",
                  f"> {hold.maximum}" if hold.maximum is not None else ""]
        flags.append(f"hold if {hold.vital.replace('_', ' ')} "
                     + " or ".join(x for x in limits if x))
    if order.site_required:
        flags.append("site")
    return " · ".join(flags)


class ResidentsScreen(AdminScreen):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, "Residents and orders", "", parent)
        self.head.insertWidget(2, button("+ Admit…", "primary", self.admit,
                                         name="admitResident"))
        self.data = ResidentRegister([], [], "UTC")
        self.orders: list[OrderState] = []
        self.show_discharged = QCheckBox("Show discharged")
        self.show_discharged.setMinimumHeight(48)  # a touch target
        self.show_discharged.toggled.connect(lambda _on: self._fill())
        # under the header, not in it: the header row must fit a portrait tablet
        self.outer.insertWidget(self.outer.indexOf(self.banner), self.show_discharged)
        top = QHBoxLayout()
        self._top = top  # side by side; the actions under the table on a portrait tablet
        self.table = table(RESIDENT_COLUMNS, "adminResidents")
        self.fitter = fit_columns(self.table)
        self.table.itemSelectionChanged.connect(self._resident_selected)
        top.addWidget(self.table, 1)
        side = QVBoxLayout()
        self.resident_actions = {
            key: button(text, kind, handler, name=f"resident_{key}")
            for key, text, kind, handler in (
                ("edit", "Edit details…", "", self.edit),
                ("transfer", "Transfer…", "", self.transfer),
                ("discharge", "Discharge…", "danger", self.discharge),
            )
        }
        for widget in self.resident_actions.values():
            widget.setFixedWidth(230)
            side.addWidget(widget)
        side.addStretch(1)
        top.addLayout(side)
        self.outer.addLayout(top, 5)
        self.orders_title = label("Orders", "section")
        self.outer.addWidget(self.orders_title)
        bottom = QHBoxLayout()
        self.order_table = table(ORDER_COLUMNS, "adminOrders")
        self.order_fitter = fit_columns(self.order_table)
        self.order_table.itemSelectionChanged.connect(self._order_selected)
        bottom.addWidget(self.order_table, 1)
        side = QVBoxLayout()
        self.order_actions = {
            key: button(text, kind, handler, name=f"order_{key}")
            for key, text, kind, handler in (
                ("add", "+ Add order…", "primary", self.add_order),
                ("change", "Change…", "", self.change_order),
                ("hold", "Hold…", "", self.hold_order),
                ("resume", "Resume…", "", self.resume_order),
                ("discontinue", "Discontinue…", "danger", self.discontinue_order),
            )
        }
        for widget in self.order_actions.values():
            widget.setFixedWidth(230)
            side.addWidget(widget)
        side.addStretch(1)
        bottom.addLayout(side)
        self.outer.addLayout(bottom, 6)
        self._bottom = bottom
        self._resident_selected()

    def resizeEvent(self, event: QResizeEvent) -> None:
        wide = self.width() >= theme.NARROW_WIDTH
        for row in (self._top, self._bottom):
            row.setDirection(QBoxLayout.Direction.LeftToRight if wide
                             else QBoxLayout.Direction.TopToBottom)
        super().resizeEvent(event)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.data.zone)

    # ---- residents ----------------------------------------------------------------------------
    def refresh(self) -> None:
        self.run(load_residents, self._loaded)

    def _loaded(self, data: ResidentRegister) -> None:
        if self.ctx.principal() is None:
            return
        self.data = data
        self._fill()

    def visible(self) -> list[Resident]:
        return [r for r in self.data.residents if r.active or self.show_discharged.isChecked()]

    def _fill(self) -> None:
        keep = self.selected_resident()
        names = {u.unit_id: u.name for u in self.data.units}
        rows = self.visible()
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for index, resident in enumerate(rows):
            allergies = ", ".join(a.substance for a in resident.allergies) or "None known"
            values = (resident.room, resident.display_name, f"{resident.date_of_birth}",
                      names.get(resident.unit_id, resident.unit_id), allergies,
                      "✓ In residence" if resident.active else "⊘ Discharged")
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, resident.resident_id)
                self.table.setItem(index, col, item)
        self.table.blockSignals(False)
        self.fitter.fit()
        if keep is not None:
            self.select_resident(keep.resident_id)
        self._resident_selected()

    def select_resident(self, resident_id: str) -> None:
        for index, resident in enumerate(self.visible()):
            if resident.resident_id == resident_id:
                self.table.selectRow(index)
                return

    def selected_resident(self) -> Resident | None:
        model = self.table.selectionModel()
        rows = model.selectedRows() if model else []
        visible = self.visible()
        if not rows or rows[0].row() >= len(visible):
            return None
        return visible[rows[0].row()]

    def _resident_selected(self) -> None:
        resident = self.selected_resident()
        for key, widget in self.resident_actions.items():
            widget.setEnabled(resident is not None and (resident.active or key == "edit"))
        self.order_actions["add"].setEnabled(resident is not None and resident.active)
        if resident is None:
            self.orders = []
            self.order_table.setRowCount(0)
            self.orders_title.setText("Orders – choose a resident above")
            self._order_selected()
            return
        self.orders_title.setText(f"Orders of {resident.display_name} (room {resident.room})")
        self._load_orders(resident.resident_id)

    def _load_orders(self, resident_id: str) -> None:
        def work(principal: Principal, services: AdminServices) -> list[OrderState]:
            return services.reads.resident_orders(principal, resident_id)

        self.run(work, self._orders_loaded)

    def _orders_loaded(self, orders: list[OrderState]) -> None:
        if self.ctx.principal() is None:
            return
        keep = self.selected_order()
        rank = {OrderStatus.ACTIVE: 0, OrderStatus.HELD: 1, OrderStatus.DISCONTINUED: 2}
        self.orders = sorted(orders, key=lambda s: (rank[s.status], s.order.drug.lower()))
        self.order_table.setRowCount(len(self.orders))
        for index, state in enumerate(self.orders):
            order = state.order
            drug = " ".join(x for x in (order.drug, order.strength, order.form) if x)
            flags = order_flags(order)
            values = (drug + (f"\n{flags}" if flags else ""),
                      f"{order_dose_text(order)} {order.route}", schedule_text(order),
                      STATUS_WORDS[state.status])
            for col, text in enumerate(values):
                self.order_table.setItem(index, col, QTableWidgetItem(text))
            if keep is not None and state.order_id == keep.order_id:
                self.order_table.selectRow(index)
        self.order_fitter.fit()
        self._order_selected()

    def selected_order(self) -> OrderState | None:
        model = self.order_table.selectionModel()
        rows = model.selectedRows() if model else []
        if not rows or rows[0].row() >= len(self.orders):
            return None
        return self.orders[rows[0].row()]

    def select_order(self, drug: str) -> None:
        for index, state in enumerate(self.orders):
            if state.order.drug == drug and state.status != OrderStatus.DISCONTINUED:
                self.order_table.selectRow(index)
                return

    def _order_selected(self) -> None:
        state = self.selected_order()
        live = state is not None and state.status != OrderStatus.DISCONTINUED
        self.order_actions["change"].setEnabled(live)
        self.order_actions["discontinue"].setEnabled(live)
        self.order_actions["hold"].setEnabled(state is not None
                                              and state.status == OrderStatus.ACTIVE)
        self.order_actions["resume"].setEnabled(state is not None
                                                and state.status == OrderStatus.HELD)

    def clear_phi(self) -> None:
        super().clear_phi()
        self.data = ResidentRegister([], [], self.data.zone)
        self.orders = []
        for widget in (self.table, self.order_table):
            widget.clearContents()
            widget.setRowCount(0)
        self.orders_title.setText("Orders")

    # ---- resident actions ---------------------------------------------------------------------
    def _after(self, message: str,
               resident_id: str | None = None) -> Callable[[object], None]:
        def done(_result: object) -> None:
            self.banner.show_message("ok", message)
            self.run(load_residents, lambda data: self._reloaded(data, resident_id))
        return done

    def _reloaded(self, data: ResidentRegister, resident_id: str | None) -> None:
        self._loaded(data)
        if resident_id is not None:
            self.select_resident(resident_id)

    def _photos_read_on_the_worker(self, dialog: ResidentDialog) -> None:
        """A photo file the admin picks is read and scaled on the worker, then shown."""
        def still_open(deliver: Callable[[T], None]) -> Callable[[T], None]:
            def deliver_if_open(value: T) -> None:  # the form may be closed meanwhile
                if shiboken6.isValid(dialog) and dialog.isVisible():
                    deliver(value)
            return deliver_if_open

        def read(path: str) -> None:
            self.ctx.run(lambda _p: photo_from_file(path), still_open(dialog.photo.set_photo),
                         still_open(dialog.photo.show_error))

        dialog.photo.file_chosen.connect(read)

    def admit(self) -> None:
        dialog = ResidentDialog(self.data.units, self)
        self._photos_read_on_the_worker(dialog)

        def work(principal: Principal, services: AdminServices, resident: object) -> Resident:
            assert isinstance(resident, Resident)
            return services.reference.admit_resident(principal, resident)

        self.submit_form(dialog, work, lambda r: self._after(
            f"{r.display_name} admitted to room {r.room}.", r.resident_id)(r))

    def edit(self) -> None:
        resident = self.selected_resident()
        if resident is None:
            return
        dialog = ResidentDialog(self.data.units, self, resident)
        self._photos_read_on_the_worker(dialog)

        def work(principal: Principal, services: AdminServices, value: object) -> Resident:
            assert isinstance(value, Resident)
            return services.reference.update_resident(principal, value)

        self.submit_form(dialog, work, self._after("Resident details saved.",
                                                   resident.resident_id))

    def transfer(self) -> None:
        resident = self.selected_resident()
        if resident is None:
            return
        dialog = TransferDialog(resident, self.data.units, self)

        def work(principal: Principal, services: AdminServices, value: object) -> None:
            assert isinstance(value, dict)
            services.reference.transfer_resident(principal, resident.resident_id,
                                                 value["unit_id"], value["room"])

        self.submit_form(dialog, work, self._after("Resident transferred.",
                                                   resident.resident_id))

    def discharge(self) -> None:
        resident = self.selected_resident()
        if resident is None:
            return
        dialog = ReasonDialog(f"Discharge: {resident.display_name}",
                              "The record stays; no doses are due after discharge.",
                              "Discharge", self, danger=True)

        def work(principal: Principal, services: AdminServices, value: object) -> None:
            assert isinstance(value, dict)
            services.reference.discharge_resident(principal, resident.resident_id,
                                                  value["reason"])

        self.submit_form(dialog, work, self._after("Resident discharged."))

    # ---- order actions ------------------------------------------------------------------------
    def _order_done(self, message: str) -> Callable[[object], None]:
        def done(_result: object) -> None:
            self.banner.show_message("ok", message)
            resident = self.selected_resident()
            if resident is not None:
                self._load_orders(resident.resident_id)
        return done

    def add_order(self) -> None:
        resident = self.selected_resident()
        if resident is None:
            return
        dialog = OrderDialog(resident, self.zone, self.ctx.clock.now(), self)

        def work(principal: Principal, services: AdminServices, value: object) -> Order:
            assert isinstance(value, dict)
            return services.reference.create_order(
                principal, value["order"], allergy_acknowledged=value["allergy_acknowledged"]
            )

        self.submit_form(dialog, work, self._order_done("Order added."))

    def change_order(self) -> None:
        resident, state = self.selected_resident(), self.selected_order()
        if resident is None or state is None:
            return
        dialog = OrderDialog(resident, self.zone, self.ctx.clock.now(), self, state.order)

        def work(principal: Principal, services: AdminServices, value: object) -> Order:
            assert isinstance(value, dict)
            new = value["order"]
            return services.reference.change_order(
                principal, state.order_id, new, value["reason"], new.start,
                allergy_acknowledged=value["allergy_acknowledged"],
            )

        self.submit_form(dialog, work, self._order_done(
            "Order changed: the new order replaces the old one."))

    def _status(self, verb: str, intro: str, call: str, message: str, *,
                danger: bool = False) -> None:
        state = self.selected_order()
        if state is None:
            return
        dialog = ReasonDialog(f"{verb}: {state.order.drug}", intro, verb, self, danger=danger)

        def work(principal: Principal, services: AdminServices, value: object) -> None:
            assert isinstance(value, dict)
            getattr(services.reference, call)(principal, state.order_id, value["reason"])

        self.submit_form(dialog, work, self._order_done(message))

    def hold_order(self) -> None:
        self._status("Hold order", "No doses are due while the order is on hold.", "hold_order",
                     "Order on hold.")

    def resume_order(self) -> None:
        self._status("Resume order", "Doses are due again from now.", "resume_order",
                     "Order resumed.")

    def discontinue_order(self) -> None:
        self._status("Discontinue order", "The order stops now. This cannot be undone; a new "
                     "order is needed to restart.", "discontinue_order", "Order discontinued.",
                     danger=True)
