"""The work area a signed-in user sees: the sidebar (:mod:`ui.sidebar`) beside the stack of
screens (unit overview, resident MAR, administration, alerts, and the sections registered with
``MainWindow.add_section``), and the navigation between the screens.

:meth:`WorkArea.build_steps` builds the screens in steps, one per event-loop turn
(:mod:`ui.staged`), into the empty area already in the window: reparenting a built screen makes
Qt restyle its whole widget tree again.

GUI thread only. No worker calls of its own (the screens make theirs through the
:class:`ui.context.UiContext`). The screens show PHI: :meth:`WorkArea.clear_phi` drops it.
Emits ``lock_requested`` and ``sign_out_requested`` (the sidebar buttons) and
``emergency_requested(list[Unit])`` (the overview's emergency-access button).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast, overload

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QHBoxLayout, QStackedWidget, QWidget

from mar_desktop.changes import Changes
from mar_desktop.permissions import Permission
from ui.context import UiContext
from ui.screens.alerts import AlertsScreen
from ui.screens.mar_words import SignedDose
from ui.screens.pass_list import PassListScreen
from ui.screens.resident_mar import AdminTarget, ResidentMarScreen
from ui.screens.unit_overview import UnitOverview
from ui.sidebar import Sidebar
from ui.staged import Step

if TYPE_CHECKING:
    from ui.screens.administration import AdministrationScreen, KeptDose

SectionFactory = Callable[[UiContext], QWidget]
Section = tuple[str, str, SectionFactory, Permission | None]  # key, title, factory, permission
T = TypeVar("T")


def prepare_page(page: QWidget, size: QSize) -> None:
    """Polishes and lays out one work page at ``size`` while the login screen is up, so the
    first switch to it during the med pass does not stall the GUI thread."""
    page.resize(size)
    page.ensurePolished()
    for child in page.findChildren(QWidget):
        child.ensurePolished()
    layout = page.layout()
    if layout is not None:
        layout.activate()


class WorkArea(QWidget):
    """Only the sidebar and the empty stack until the :meth:`build_steps` have run;
    ``window_width`` is the main window's, for the sidebar's first fit."""

    lock_requested = Signal()
    sign_out_requested = Signal()
    emergency_requested = Signal(list)  # the units the user could ask emergency access for

    # Set by the build steps.
    overview: UnitOverview
    mar: ResidentMarScreen
    administration: AdministrationScreen
    alerts: AlertsScreen
    pass_list: PassListScreen

    def __init__(self, window_width: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.sidebar = Sidebar()
        self.sidebar.fit(window_width)
        self.stack = QStackedWidget()
        self.section_widgets: dict[str, QWidget] = {}
        self.built = False  # True once the last build step ran
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)

    def build_steps(
        self, ctx: UiContext, sections: Sequence[Section], page_size: Callable[[], QSize]
    ) -> list[Step]:
        """The screens as build steps, each a few tens of ms at most: the sidebar's top, the
        overview, the MAR (its section tables follow, one step each), administration, alerts,
        one step per section, the sidebar's bottom and the wiring, then one step per page
        laying it out at ``page_size()``, and the area itself. ``built`` is True after that."""
        stack, side = self.stack, self.sidebar

        def sidebar_top() -> None:
            side.add_top(self.show_overview, self.show_pass, self.show_alerts)

        def overview() -> None:
            self.overview = UnitOverview(ctx, stack)
            stack.addWidget(self.overview)

        def mar() -> list[Callable[[], None]]:
            self.mar = ResidentMarScreen(ctx, stack, staged=True)
            stack.addWidget(self.mar)
            return self.mar.take_build_steps()  # its section tables, one step each

        def administration() -> None:
            # Imported here, after the worker opened the store (and so loaded the services and
            # the barcode parser): keeps ~200 ms of imports off the path to the login window.
            from ui.screens.administration import AdministrationScreen

            self.administration = AdministrationScreen(ctx, stack)
            stack.addWidget(self.administration)

        def alerts() -> None:
            self.alerts = AlertsScreen(ctx, stack)
            stack.addWidget(self.alerts)

        def med_pass() -> None:
            self.pass_list = PassListScreen(ctx, stack)
            stack.addWidget(self.pass_list)

        def section(key: str, title: str, factory: SectionFactory) -> Callable[[], None]:
            def build() -> None:
                widget = factory(ctx)
                stack.addWidget(widget)
                self.section_widgets[key] = widget
                side.add_nav(key, title, lambda: self._show_section(key, widget))
                badge = getattr(widget, "badge_changed", None)  # a count after the title
                if badge is not None:
                    badge.connect(lambda text: self._badge(key, title + text))
            return build

        def assemble() -> None:
            side.add_bottom(self.lock_requested.emit, self.sign_out_requested.emit)
            self._connect_screens()
            ctx.changes.changed.connect(self.apply_changes)

        def prepare(index: int) -> Callable[[], None]:
            def step() -> None:
                page = stack.widget(index)
                if page is not None:  # None only if fewer pages were added than counted
                    prepare_page(page, page_size())
            return step

        def finish() -> None:
            prepare_page(self, page_size())
            self.built = True

        built = [section(key, title, factory) for key, title, factory, _ in sections]
        pages = 5 + len(built)
        return [sidebar_top, overview, mar, administration, alerts, med_pass, *built, assemble,
                *[prepare(i) for i in range(pages)], finish]

    def _connect_screens(self) -> None:
        self.overview.open_resident.connect(self.open_resident)
        self.overview.emergency_requested.connect(self.emergency_requested)
        self.mar.back.connect(self.show_overview)
        self.mar.administer.connect(self.open_administration)
        self.administration.cancelled.connect(lambda: self._back_to_mar(None))
        self.administration.recorded.connect(self._back_to_mar)
        self.alerts.count_changed.connect(self._alerts_counted)
        self.pass_list.open_dose.connect(self.open_dose)

    def apply_changes(self, changes: Changes, stored_by: float) -> None:
        """Re-reads the screen on show if ``changes`` (local or pulled, see
        :class:`ui.changes.ChangeHub`) touched what it shows: the open resident's MAR, the unit
        overview, the alerts; not when its last read was asked for after ``stored_by`` (it
        shows them already: e.g. the MAR re-read on return from a recorded dose). A section
        screen with ``apply_changes(changes, stored_by, shown)`` decides for itself. Other
        screens re-read when they are next shown, as always."""
        shown = self.stack.currentWidget()
        for widget in self.section_widgets.values():  # e.g. the verification queue, its badge
            hook = getattr(widget, "apply_changes", None)
            if hook is not None:
                hook(changes, stored_by, widget is shown)
        screen: UnitOverview | ResidentMarScreen | AlertsScreen | PassListScreen
        if shown is self.mar:
            resident = self.mar.resident_id
            screen, touched = self.mar, bool(resident) and changes.touches(resident)
        elif shown is self.overview:
            screen, touched = self.overview, changes.any_resident
        elif shown is self.pass_list:
            screen, touched = self.pass_list, changes.any_resident
        elif shown is self.alerts:
            screen, touched = self.alerts, changes.alerts
        else:
            return
        if touched and screen.read_asked_at < stored_by:
            screen.refresh()

    def _badge(self, key: str, text: str) -> None:
        """A section's nav button with its count; a compact sidebar widens to fit it."""
        self.sidebar.nav[key].setText(text)
        self.sidebar.fit(self.window().width())

    def _alerts_counted(self, count: int) -> None:
        self.sidebar.show_alert_count(count, self.window().width())

    # ---- navigation -----------------------------------------------------------------------------
    def show_overview(self) -> None:
        """The unit overview, re-read, with the focus in its scan field."""
        self.sidebar.nav["residents"].setChecked(True)
        self.stack.setCurrentWidget(self.overview)
        self.overview.refresh()
        self.overview.scan.setFocus()

    def show_pass(self) -> None:
        """The unit's med pass, re-read."""
        self.sidebar.nav["pass"].setChecked(True)
        self.stack.setCurrentWidget(self.pass_list)
        self.pass_list.refresh()

    def show_alerts(self) -> None:
        """The alerts list, re-read."""
        self.sidebar.nav["alerts"].setChecked(True)
        self.stack.setCurrentWidget(self.alerts)
        self.alerts.refresh()

    def _show_section(self, key: str, widget: QWidget) -> None:
        self.sidebar.nav[key].setChecked(True)
        self.stack.setCurrentWidget(widget)
        refresh = getattr(widget, "refresh", None)
        if refresh is not None:
            refresh()

    def open_resident(self, resident_id: str, wristband_scan: str = "") -> None:
        """The resident's MAR (read on the worker by the screen); ``wristband_scan`` is the
        scan that found the resident, if any, and counts as the identity check."""
        self.sidebar.nav["residents"].setChecked(True)
        self.mar.open(resident_id, wristband_scan)
        self.stack.setCurrentWidget(self.mar)

    def open_dose(self, resident_id: str, order_id: str, scheduled_for: datetime) -> None:
        """From the med pass: the resident's MAR, then that dose's administration screen (the
        wristband and medication scans are still asked for there)."""
        self.sidebar.nav["pass"].setChecked(True)
        self.mar.open(resident_id, dose=(order_id, scheduled_for))
        self.stack.setCurrentWidget(self.mar)

    def open_administration(self, target: AdminTarget) -> None:
        """The administration flow for one dose of the MAR's resident."""
        self.administration.begin(target)
        self.stack.setCurrentWidget(self.administration)

    def _back_to_mar(self, signed: SignedDose | None) -> None:
        """Back to the MAR, re-read; with the confirmation of ``signed``, the dose just
        recorded (None: the flow was cancelled)."""
        self.stack.setCurrentWidget(self.mar)
        if signed is not None:
            self.mar.show_signed(signed)
        self.mar.refresh()

    def route_scan(self, text: str) -> None:
        """Hands a scan to the scan handler of the screen on show: the unit overview looks the
        wristband up and opens the resident, the resident's MAR takes a wristband or a
        medication into the administration flow, the administration screen checks it. On a
        screen without one (alerts, admin) the overview is shown and takes it."""
        current = self.stack.currentWidget()
        handler = getattr(current, "on_scan", None)
        if handler is None:
            self.show_overview()
            handler = self.overview.on_scan
        handler(text)

    def resume(self) -> None:
        """After an unlock: re-reads the MAR or the alerts when on show, else the overview."""
        current = self.stack.currentWidget()
        if current is self.mar and self.mar.resident_id:
            self.mar.refresh()
        elif current is self.pass_list:
            self.pass_list.refresh()
        elif current is self.alerts:
            self.alerts.refresh()
        else:
            self.show_overview()

    def resume_dose(self, kept: KeptDose) -> None:
        """After the same user unlocked: the dose kept at the lock, back on the administration
        screen (:meth:`ui.screens.administration.AdministrationScreen.restore`); the MAR
        behind it is re-read for the way back."""
        self.sidebar.nav["residents"].setChecked(True)
        self.administration.restore(kept)
        self.stack.setCurrentWidget(self.administration)
        if self.mar.resident_id:
            self.mar.refresh()

    def clear_phi(self) -> None:
        """Drops the content of every screen that shows PHI (their ``clear_phi()``), at once."""
        for screen in (self.overview, self.mar, self.administration, self.alerts,
                       self.pass_list, *self.section_widgets.values()):
            clear = getattr(screen, "clear_phi", None)
            if clear is not None:
                clear()


class HasWorkArea(Protocol):
    @property
    def _area(self) -> WorkArea | None: ...


class Part(Generic[T]):
    """On the main window: its work area's attribute of the same name (or ``name``), so the
    window keeps the attributes and methods tests, scripts and helpers use. Reading it raises
    AttributeError while the window has no work area yet (before ``attach``). Not for setting:
    a value assigned on the window would hide the work area's."""

    def __init__(self, name: str = "") -> None:
        self._name = name

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = self._name or name

    @overload
    def __get__(self, window: None, owner: type) -> Part[T]: ...
    @overload
    def __get__(self, window: HasWorkArea, owner: type) -> T: ...
    def __get__(self, window: HasWorkArea | None, owner: type) -> Part[T] | T:
        if window is None:
            return self
        area = window._area
        if area is None:
            raise AttributeError(f"{self._name}: the work area is built by attach()")
        return cast("T", getattr(area, self._name))
