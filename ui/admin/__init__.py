"""The admin screens: staff accounts, residents and orders, facility settings, devices, the
audit log, and printing and exports.

:func:`register` adds one sidebar section per screen to the main window (``ui.startup`` calls it).
Each section names the permission it needs; the main window hides the entries a role cannot
use, and the services check again (a refused call changes nothing, is audited, and its message
is shown). The screens call the backend's :class:`~ui.backend.AdminServices` only.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from mar_desktop.permissions import Permission

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from ui.context import UiContext
    from ui.main_window import MainWindow

# (key, sidebar title, permission) in sidebar order.
SECTIONS: tuple[tuple[str, str, Permission], ...] = (
    ("admin_users", "⚇  Staff", Permission.MANAGE_USERS),
    ("admin_residents", "✚  Admissions", Permission.MANAGE_RESIDENTS),
    ("admin_settings", "⚙  Settings", Permission.MANAGE_SETTINGS),
    ("admin_devices", "⌂  Devices", Permission.MANAGE_DEVICES),
    ("admin_audit", "☷  Audit log", Permission.VIEW_AUDIT),
    ("admin_reports", "▤  Reports", Permission.PRINT_REPORTS),
    ("admin_access", "◉  Access report", Permission.VIEW_AUDIT),
)
ADMIN_KEYS = frozenset(key for key, _title, _permission in SECTIONS)


def make_screen(key: str, ctx: UiContext) -> QWidget:
    """Builds the screen of section ``key`` (GUI thread)."""
    if key == "admin_users":
        from ui.admin.users import UsersScreen

        return UsersScreen(ctx)
    if key == "admin_residents":
        from ui.admin.residents import ResidentsScreen

        return ResidentsScreen(ctx)
    if key == "admin_settings":
        from ui.admin.settings import SettingsScreen

        return SettingsScreen(ctx)
    if key == "admin_devices":
        from ui.admin.devices import DevicesScreen

        return DevicesScreen(ctx)
    if key == "admin_audit":
        from ui.admin.audit_viewer import AuditScreen

        return AuditScreen(ctx)
    if key == "admin_reports":
        from ui.admin.reports import ReportsScreen

        return ReportsScreen(ctx)
    if key == "admin_access":
        from ui.admin.access_report import AccessReportScreen

        return AccessReportScreen(ctx)
    raise KeyError(key)


def register(window: MainWindow) -> None:
    """Adds the admin sections to ``window`` (before ``attach``)."""
    for key, title, permission in SECTIONS:
        window.add_section(key, title, functools.partial(make_screen, key), permission)
