"""Scope of practice: which doses a person may administer, by role, at this facility.

A licensed account (:attr:`mar_desktop.model.User.licensed`) may give any route and schedule.
An unlicensed role may give only the routes and controlled schedules its
:class:`~mar_desktop.model.RoleScope` in the facility's settings lists (default for a CNA /
medication aide: no injections, no Schedule II); a role not listed may give nothing, and an
order whose route this app does not know is for licensed staff only. Pure; any thread.
"""

from __future__ import annotations

from mar_desktop.clinical.routes import route_of
from mar_desktop.errors import RuleViolation
from mar_desktop.model import FacilitySettings, Order, Role, User

ROLE_WORDS: dict[Role, str] = {
    Role.FACILITY_ADMIN: "facility administrator",
    Role.NURSE: "nurse",
    Role.CNA: "CNA / medication aide",
    Role.READ_ONLY: "read-only reviewer",
}


def scope_refusal(user: User, order: Order, settings: FacilitySettings) -> str | None:
    """Why ``user`` may not administer ``order`` here, in words for the screen; None if they
    may."""
    if user.licensed:
        return None
    who = ROLE_WORDS.get(user.role, user.role.value)
    scope = next((s for s in settings.scope if s.role == user.role), None)
    if scope is None:
        return f"A {who} may not give medications at this facility; ask a licensed nurse."
    route = route_of(order.route)
    if route is None:
        return (
            f"The route “{order.route}” is not one this app knows, so only a licensed nurse "
            "may give it."
        )
    if route not in scope.routes:
        return f"A {who} may not give {route.value} medications here; ask a licensed nurse."
    schedule = order.controlled_schedule
    if schedule is not None and schedule not in scope.schedules:
        return f"A {who} may not give Schedule {schedule} medications here; ask a licensed nurse."
    return None


def check_scope(user: User, order: Order, settings: FacilitySettings) -> None:
    """Raises RuleViolation (``outside_scope``) when :func:`scope_refusal` gives a reason."""
    why = scope_refusal(user, order, settings)
    if why is not None:
        raise RuleViolation(why, code="outside_scope")
