"""Building audit-chain drafts: one function, used by every service
(docs/architecture.md#the-audit-chain).

The audit body never holds secrets. ``before``/``after`` carry the changed record's public
fields only (a :class:`~mar_desktop.model.User`, never a credential record).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mar_desktop.envelope import AUDIT_PREFIX, Actor, EntryDraft
from mar_desktop.kinds import AuditEvent, draft
from mar_desktop.permissions import Principal

# Actions (the part after "audit." in the kind). Listed so a typo is a test failure, not a gap.
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
LOCKED_OUT = "locked_out"
UNLOCKED = "unlocked"
SESSION_LOCKED = "session_locked"
SESSION_UNLOCKED = "session_unlocked"
PERMISSION_REFUSED = "permission_refused"
RESIDENT_VIEWED = "resident_viewed"
RECORD_CREATED = "record_created"
RECORD_AMENDED = "record_amended"
RECORD_VOIDED = "record_voided"
EMERGENCY_ACCESS = "emergency_access"
EXPORTED = "exported"
PRINTED = "printed"
USER_CHANGED = "user_changed"
SETTINGS_CHANGED = "settings_changed"
DEVICE_ENROLLED = "device_enrolled"
SYNCED = "synced"
CLOCK_OFF = "clock_off"  # this device's clock found off the server's by more than the limit
CLOCK_RIGHT = "clock_right"  # ... and back within it
ALERT_ACKNOWLEDGED = "alert_acknowledged"
# Accounts and sign-in (people services).
USER_CREATED = "user_created"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an action name)
PASSWORD_RESET = "password_reset"  # noqa: S105
MFA_ENROLLED = "mfa_enrolled"
MFA_RESET = "mfa_reset"
RECOVERY_CODE_USED = "recovery_code_used"
REAUTH_REQUIRED = "reauth_required"
REAUTHENTICATED = "reauthenticated"
THROTTLED = "throttled"
WITNESS_SIGNED = "witness_signed"
WITNESS_FAILED = "witness_failed"
EMERGENCY_ACCESS_ENDED = "emergency_access_ended"
AUDIT_VIEWED = "audit_viewed"
OFFLINE_LIMIT_REFUSED = "offline_limit_refused"
OFFLINE_BREAK_GLASS = "offline_break_glass"
DEVICE_REVOKED = "device_revoked"
CREDENTIAL_REFUSED = "credential_refused"
"""An account record that reached this tablet did not verify as authorised; not stored."""
SHIFT_ASSIGNED = "shift_assigned"  # a shift assignment set (the signed entry beside it)
ASSIGNMENT_WIDENED = "assignment_widened"  # "whole unit" chosen over one's assignment, reason
OUTSIDE_ASSIGNMENT_OPENED = "outside_assignment_opened"  # a resident outside it, with reason

# Every action the people services write (the audit viewer offers them as filters).
PEOPLE_ACTIONS = frozenset(
    {
        EMERGENCY_ACCESS,
        LOCKED_OUT,
        LOGIN,
        LOGIN_FAILED,
        LOGOUT,
        PERMISSION_REFUSED,
        SESSION_LOCKED,
        SESSION_UNLOCKED,
        UNLOCKED,
        USER_CHANGED,
        USER_CREATED,
        PASSWORD_CHANGED,
        PASSWORD_RESET,
        MFA_ENROLLED,
        MFA_RESET,
        RECOVERY_CODE_USED,
        REAUTH_REQUIRED,
        REAUTHENTICATED,
        THROTTLED,
        WITNESS_SIGNED,
        WITNESS_FAILED,
        EMERGENCY_ACCESS_ENDED,
        AUDIT_VIEWED,
        OFFLINE_LIMIT_REFUSED,
        OFFLINE_BREAK_GLASS,
        CREDENTIAL_REFUSED,
    }
)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def audit_draft(
    action: str,
    *,
    actor: Actor,
    user_name: str,
    ip: str | None = None,
    entity_type: str = "",
    entity_id: str = "",
    before: BaseModel | dict[str, Any] | None = None,
    after: BaseModel | dict[str, Any] | None = None,
    detail: str = "",
) -> EntryDraft:
    """An ``audit.<action>`` draft. Pure; the caller appends it (usually in the same batch as
    the ledger entries it describes, so both commit together)."""
    body = AuditEvent(
        user_id=actor.user_id,
        user_name=user_name,
        role=actor.role,
        ip=ip,
        entity_type=entity_type,
        entity_id=entity_id,
        before=_plain(before),
        after=_plain(after),
        detail=detail,
    )
    return draft(AUDIT_PREFIX + action, actor, body)


def audit_for(principal: Principal, action: str, **fields: Any) -> EntryDraft:
    """:func:`audit_draft` for the signed-in principal (name and IP filled in)."""
    return audit_draft(
        action,
        actor=principal.actor,
        user_name=principal.user.full_name,
        ip=principal.ip,
        **fields,
    )
