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

ROLE_WORDS: dict[Role, str] = {  # every role: a new one needs its words here
    Role.FACILITY_ADMIN: "facility administrator",
    Role.DIRECTOR_OF_NURSING: "director of nursing",
    Role.NURSE: "nurse",
    Role.CNA: "CNA / medication aide",
    Role.PHARMACIST: "pharmacist",
    Role.READ_ONLY: "read-only reviewer",
}


def scope_refusal(user: User, order: Order, settings: FacilitySettings) -> str | None:
    """Why ``user`` may not administer ``order`` here, in words for the screen; None if they
    may."""
    found = _refusal(user, order, settings)
    return None if found is None else found[0]


def scope_limit(user: User, order: Order, settings: FacilitySettings) -> str | None:
    """The same refusal in a few words for a table cell (e.g. "Licensed nurse: subcutaneous");
    None if ``user`` may give ``order``."""
    found = _refusal(user, order, settings)
    return None if found is None else found[1]


def _refusal(user: User, order: Order, settings: FacilitySettings) -> tuple[str, str] | None:
    if user.licensed:
        return None
    who = ROLE_WORDS[user.role]
    scope = next((s for s in settings.scope if s.role == user.role), None)
    if scope is None:
        why = f"A {who} may not give medications at this facility; ask a licensed nurse."
        return why, "Licensed nurse only"
    route = route_of(order.route)
    if route is None:
        why = (
            f"The route “{order.route}” is not one this app knows, so only a licensed nurse "
            "may give it."
        )
        return why, "Licensed nurse: unknown route"
    if route not in scope.routes:
        why = f"A {who} may not give {route.value} medications here; ask a licensed nurse."
        return why, f"Licensed nurse: {route.value}"
    schedule = order.controlled_schedule
    if schedule is not None and schedule not in scope.schedules:
        why = f"A {who} may not give Schedule {schedule} medications here; ask a licensed nurse."
        return why, f"Licensed nurse: Schedule {schedule}"
    return None


def check_scope(user: User, order: Order, settings: FacilitySettings) -> None:
    """Raises RuleViolation (``outside_scope``) when :func:`scope_refusal` gives a reason."""
    why = scope_refusal(user, order, settings)
    if why is not None:
        raise RuleViolation(why, code="outside_scope")
