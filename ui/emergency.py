"""Emergency ("break-the-glass") access: asking for it, and the banner on top of the main window
while it lasts. The grant ends by itself (the session's timers); the main window calls
:func:`show_emergency` on every emergency session event.

GUI thread. The grant runs on the worker through :meth:`ui.context.UiContext.run`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from mar_desktop.model import Unit
from ui.context import UiContext
from ui.widgets.common import Banner


def request_emergency_access(ctx: UiContext, units: list[Unit], parent: QWidget) -> None:
    """Opens the emergency-access dialog (the reason, which of ``units``) over ``parent`` and
    returns at once; nothing happens without units. On submit the worker grants the access
    (``auth.grant_emergency_access``: audited, the session's EMERGENCY_STARTED event follows);
    the dialog closes when granted, shows the error when refused (PermissionDenied,
    ValidationError) and is rejected at once when the session is locked meanwhile."""
    from ui.screens.dialogs import EmergencyDialog

    if not units:
        return
    minutes = ctx.backend.sessions.settings.emergency_access_minutes
    dialog = EmergencyDialog(units, minutes, parent)
    auth = ctx.backend.auth

    def submitted(values: dict[str, object]) -> None:
        unit_ids = list(values["unit_ids"])  # type: ignore[call-overload]
        handle = ctx.run(
            lambda p: auth.grant_emergency_access(p, str(values["reason"]), unit_ids),
            lambda _r: dialog.accept(),
            dialog.fail,
        )
        if handle is None:
            dialog.reject()

    dialog.submitted.connect(submitted)
    dialog.open()


def show_emergency(banner: Banner, ctx: UiContext | None) -> None:
    """Shows on ``banner`` until when the signed-in user's emergency access lasts and its
    reason (the user's own words, no resident data); clears it when there is no grant or no
    one is signed in. Reads the session in memory only."""
    session = ctx.backend.sessions.current if ctx else None
    grant = session.emergency if session is not None else None
    if grant is None or (ctx is not None and ctx.principal() is None):
        banner.clear_message()
        return
    until = grant.until.astimezone().strftime("%H:%M")
    banner.show_message(
        "emergency",
        f"EMERGENCY ACCESS active until {until} – every record you open is logged. "
        f"Reason: {grant.reason}",
    )
