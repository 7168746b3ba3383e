"""Shift assignment on the bedside screens (docs/architecture.md#shift-assignment): the
"Assigned: rooms 101–108 (set by …)" line with its switch to the whole unit (a reason first,
audited), and the reason asked before a resident outside the assignment opens.

GUI thread; every service call runs on the worker through :meth:`UiContext.run`. Without a
reason nothing is recorded and nothing opens.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from mar_desktop.permissions import Principal
from mar_desktop.services.assignment import AssignmentView
from ui.context import UiContext
from ui.screens.dialogs import FormDialog, _text
from ui.widgets.common import button, label


class ReasonDialog(FormDialog):
    """One required reason (recorded in the audit log with the action)."""

    def __init__(self, title: str, intro: str, action: str, parent: QWidget | None) -> None:
        super().__init__(title, intro, action, parent)
        self.reason = self.text_field("Reason")

    def missing_field(self) -> tuple[QWidget, str] | None:
        if not _text(self.reason).strip():
            return self.reason, "Give a reason: it is recorded with your name."
        return None

    def values(self) -> dict[str, object]:
        return {"reason": _text(self.reason).strip()}


def ask_reason(ctx: UiContext, parent: QWidget, dialog: ReasonDialog,
               record: Callable[[Principal, str], None], done: Callable[[], None],
               cancelled: Callable[[], None] | None = None) -> ReasonDialog:
    """Opens ``dialog``; on submit runs ``record(principal, reason)`` on the worker, then
    closes the dialog and calls ``done`` (GUI thread); a refusal shows in the dialog. Cancel
    (or a lock meanwhile) records nothing and calls ``cancelled``."""

    def submitted(values: dict[str, object]) -> None:
        reason = str(values["reason"])

        def succeeded(_result: object) -> None:
            dialog.accept()
            done()

        if ctx.run(lambda p: record(p, reason), succeeded, dialog.fail) is None:
            dialog.reject()

    dialog.submitted.connect(submitted)
    if cancelled is not None:
        dialog.rejected.connect(cancelled)
    dialog.open()
    return dialog


class AssignmentBar(QWidget):
    """The signed-in person's assignment on the pass list and the overview: what it is, who
    set it, and the switch (whole unit, with a reason / back to the assignment). Hidden while
    the person has none. ``changed`` asks the screen to read its list again."""

    changed = Signal()

    def __init__(self, ctx: UiContext, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setObjectName(name)
        self.view: AssignmentView | None = None
        self.dialog: ReasonDialog | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.text = label("", "section", wrap=True)
        self.text.setObjectName("assignmentText")
        row.addWidget(self.text, 1)
        self.switch = button("Show whole unit…", "", self._switch, name="assignmentSwitch")
        row.addWidget(self.switch)
        self.hide()

    def show_view(self, view: AssignmentView | None) -> None:
        self.view = view
        if view is None:
            self.text.clear()
            self.hide()
            return
        showing = "Showing the whole unit. " if view.whole_unit else ""
        self.text.setText(f"{showing}{view.text}")
        self.switch.setText("Show my assignment only" if view.whole_unit
                            else "Show whole unit…")
        self.show()

    def clear(self) -> None:
        self.show_view(None)

    def _switch(self) -> None:
        backend = self._ctx.backend
        service = backend.assignments
        if self.view is None or service is None:
            return
        if self.view.whole_unit:
            self._ctx.run(service.show_assigned_only, lambda _r: self.changed.emit())
            return
        self.dialog = ask_reason(
            self._ctx, self,
            ReasonDialog("Show the whole unit",
                         "Your lists show your assignment for this shift. Say why you need "
                         "the whole unit; it is recorded with your name.",
                         "Show whole unit", self),
            service.show_whole_unit,
            self.changed.emit,
        )


def ask_outside_reason(ctx: UiContext, parent: QWidget, resident_id: str,
                       opened: Callable[[], None],
                       not_opened: Callable[[], None]) -> ReasonDialog | None:
    """Asks why the person opens ``resident_id``, who is outside their shift assignment. With
    a reason: ``AssignmentService.open_outside`` (audited), then ``opened`` (read the record
    again); cancelled: nothing recorded, ``not_opened``."""
    service = ctx.backend.assignments
    if service is None:
        not_opened()
        return None
    return ask_reason(
        ctx, parent,
        ReasonDialog("Resident outside your assignment",
                     "This resident is not on your assignment for this shift. Say why you "
                     "are opening the record; it is recorded with your name.",
                     "Open the record", parent),
        lambda p, reason: service.open_outside(p, resident_id, reason),
        opened, not_opened,
    )
