"""Scope of practice: every route and schedule against the default CNA scope, licensed staff,
roles with no scope, unknown routes, and a facility's own scope."""

from __future__ import annotations

from typing import Any

import pytest

from mar_desktop.clinical.routes import INJECTABLE, SNOMED, Route, route_of, same_route
from mar_desktop.clinical.scope import check_scope, scope_refusal
from mar_desktop.errors import RuleViolation
from mar_desktop.model import DEFAULT_SCOPE, FacilitySettings, Order, Role, RoleScope
from tests import factories as f
from tests.mar_desktop.clinical.factories import user

SETTINGS = FacilitySettings()
CNA = user("u-cna", Role.CNA)
NURSE = user("u-nurse", Role.NURSE)
CNA_ROUTES = {
    Route.ORAL, Route.SUBLINGUAL, Route.TOPICAL, Route.TRANSDERMAL, Route.OPHTHALMIC,
    Route.OTIC, Route.NASAL, Route.INHALED, Route.RECTAL,
}


def order(**fields: Any) -> Order:
    return f.order_model("r1", **fields)


@pytest.mark.parametrize("route", list(Route))
def test_the_default_cna_scope_is_the_non_injectable_routes_listed(route: Route) -> None:
    why = scope_refusal(CNA, order(route=route.value), SETTINGS)
    assert (why is None) is (route in CNA_ROUTES)
    if route in INJECTABLE:
        assert why is not None and route.value in why


@pytest.mark.parametrize(("schedule", "allowed"), [(None, True), ("II", False), ("III", True),
                                                    ("IV", True), ("V", True)])
def test_a_cna_gives_no_schedule_ii(schedule: str | None, allowed: bool) -> None:
    assert (scope_refusal(CNA, order(controlled_schedule=schedule), SETTINGS) is None) is allowed


@pytest.mark.parametrize("route", ["PO", "SC", "IV", "intrathecal", "???"])
def test_licensed_staff_are_not_narrowed(route: str) -> None:
    assert scope_refusal(NURSE, order(route=route, controlled_schedule="II"), SETTINGS) is None
    rn_admin = user("u-admin", Role.FACILITY_ADMIN, credentials="RN")
    assert scope_refusal(rn_admin, order(route=route), SETTINGS) is None


def test_the_short_form_names_who_may_give_it_and_why() -> None:
    from mar_desktop.clinical.scope import scope_limit

    assert scope_limit(CNA, order(route="SC"), SETTINGS) == "Licensed nurse: subcutaneous"
    assert scope_limit(CNA, order(controlled_schedule="II"), SETTINGS) == (
        "Licensed nurse: Schedule II"
    )
    assert scope_limit(CNA, order(route="intrathecal"), SETTINGS) == (
        "Licensed nurse: unknown route"
    )
    assert scope_limit(CNA, order(route="PO"), FacilitySettings(scope=())) == (
        "Licensed nurse only"
    )
    assert scope_limit(CNA, order(route="PO"), SETTINGS) is None
    assert scope_limit(NURSE, order(route="IV"), SETTINGS) is None


def test_an_unknown_route_is_for_licensed_staff_only() -> None:
    why = scope_refusal(CNA, order(route="intrathecal"), SETTINGS)
    assert why is not None and "licensed" in why
    with pytest.raises(RuleViolation) as refused:
        check_scope(CNA, order(route="intrathecal"), SETTINGS)
    assert refused.value.code == "outside_scope"


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.FACILITY_ADMIN])
def test_an_unlicensed_role_without_a_scope_gives_nothing(role: Role) -> None:
    assert scope_refusal(user("u-x", role), order(route="PO"), SETTINGS) is not None


def test_a_facility_can_widen_or_narrow_the_scope() -> None:
    widened = FacilitySettings(
        scope=(RoleScope(role=Role.CNA, routes=(Route.ORAL, Route.SUBCUTANEOUS), schedules=()),)
    )
    assert scope_refusal(CNA, order(route="SQ"), widened) is None
    assert scope_refusal(CNA, order(route="topical"), widened) is not None
    assert scope_refusal(CNA, order(route="PO", controlled_schedule="IV"), widened) is not None
    assert scope_refusal(CNA, order(route="PO"), FacilitySettings(scope=())) is not None
    assert FacilitySettings().scope == DEFAULT_SCOPE


@pytest.mark.parametrize(
    ("text", "route"),
    [("PO", Route.ORAL), ("po", Route.ORAL), ("by mouth", Route.ORAL), ("S.C.", None),
     ("SQ", Route.SUBCUTANEOUS), ("sub-q", None), ("IM", Route.INTRAMUSCULAR),
     ("26643006", Route.ORAL), ("34206005", Route.SUBCUTANEOUS), ("oral.", Route.ORAL),
     ("  Inhaled  ", Route.INHALED), ("g-tube", Route.ENTERAL_TUBE), ("banana", None)],
)
def test_route_words_and_codes(text: str, route: Route | None) -> None:
    assert route_of(text) is route


def test_every_route_has_a_snomed_code_and_routes_compare_by_meaning() -> None:
    assert set(SNOMED.values()) == set(Route)
    assert same_route("PO", "oral") and same_route("SQ", "subcutaneous")
    assert not same_route("IV", "oral") and not same_route("banana", "oral")
    assert same_route("Intrathecal", "intrathecal") and not same_route("intrathecal", "epidural")


def test_the_refusals_name_the_role_and_what_it_may_not_give() -> None:
    assert scope_refusal(CNA, order(route="SC"), SETTINGS) == (
        "A CNA / medication aide may not give subcutaneous medications here; ask a licensed nurse."
    )
    assert scope_refusal(CNA, order(controlled_schedule="II"), SETTINGS) == (
        "A CNA / medication aide may not give Schedule II medications here; ask a licensed nurse."
    )
    assert scope_refusal(CNA, order(route="intrathecal"), SETTINGS) == (
        "The route “intrathecal” is not one this app knows, so only a licensed nurse may give it."
    )
    reviewer = user("u-r", Role.READ_ONLY)
    assert scope_refusal(reviewer, order(route="PO"), SETTINGS) == (
        "A read-only reviewer may not give medications at this facility; ask a licensed nurse."
    )


def test_unknown_routes_compare_by_their_words_with_spaces_folded() -> None:
    assert same_route("spinal  block", "Spinal block")
    assert same_route(" spinal block ", "spinal\tblock")


def test_every_role_has_words_for_the_refusal() -> None:
    from mar_desktop.clinical.scope import ROLE_WORDS

    assert set(ROLE_WORDS) == set(Role)
