"""One status per staff account, in words, for the staff screen (no Qt; any thread).

An account shows a single status, the one that matters most for what the admin may need to do:
deactivated, then locked, then not set up (no password, temporary password, no
authenticator), then failed sign-ins, then active. The sentence under it in the side panel
says what it means and what to do. The units column says what the assignment means: every unit
(by role, or chosen), the named units, or no unit at all (the account sees no resident).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mar_desktop.permissions import ALL_UNIT_ROLES
from mar_desktop.services.admin_reads import StaffAccount


@dataclass(frozen=True, slots=True)
class AccountStatus:
    text: str  # glyph and words, e.g. "✕ Locked"
    tone: str  # "ok", "warning", "error" or "muted"
    meaning: str  # a sentence for the side panel


def account_status(row: StaffAccount) -> AccountStatus:
    """The one status of ``row`` (see the module docstring for the order)."""
    if not row.user.active:
        return AccountStatus("⊘ Deactivated", "muted",
                             "Cannot sign in or witness. Past records stay.")
    if row.locked:
        return AccountStatus(
            "✕ Locked", "error",
            f"Locked on this device after {row.failures} failed sign-ins. Unlock sign-in to "
            "let them try again.")
    if not row.has_credentials:
        return AccountStatus("– No password", "warning",
                             "Has no password yet. Reset the password to issue one.")
    if row.must_change_password:
        return AccountStatus(
            "◷ Temporary password", "warning",
            "Chooses a password and enrols an authenticator at the next sign-in.")
    if not row.mfa_enrolled:
        return AccountStatus("○ No authenticator", "warning",
                             "Enrols an authenticator app at the next sign-in.")
    if row.failures:
        plural = "s" if row.failures != 1 else ""
        return AccountStatus(
            f"⚠ {row.failures} failed sign-in{plural}", "warning",
            f"Active; {row.failures} failed sign-in{plural} on this device since the last "
            "success.")
    return AccountStatus("✓ Active", "ok", "Can sign in.")


def units_text(row: StaffAccount, names: Mapping[str, str]) -> str:
    """What the account's unit assignment means, in words."""
    user = row.user
    if user.role in ALL_UNIT_ROLES:
        return "Every unit (role)"
    if user.all_units:
        return "All units"
    if not user.unit_ids:
        return "⚠ No unit: sees no resident"
    return ", ".join(names.get(u, "unknown unit") for u in user.unit_ids)
