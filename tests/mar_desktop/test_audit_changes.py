"""Before/after values of an audit event as a field-by-field difference."""

from __future__ import annotations

from mar_desktop.audit_changes import ABSENT, FieldChange, changes_text, field_changes


def test_only_the_fields_that_changed_are_listed_in_name_order() -> None:
    before = {"role": "nurse", "active": True, "unit_ids": ["east"], "full_name": "A B"}
    after = {"role": "cna", "active": False, "unit_ids": ["east"], "full_name": "A B"}
    assert field_changes(before, after) == [
        FieldChange("active", "yes", "no"),
        FieldChange("role", "nurse", "cna"),
    ]


def test_nested_values_are_dotted_and_lists_are_one_field() -> None:
    before = {"settings": {"window": 30, "codes": ["R", "H"]}}
    after = {"settings": {"window": 45, "codes": ["R"]}}
    changes = field_changes(before, after)
    assert changes == [
        FieldChange("settings.codes", "R, H", "R"),
        FieldChange("settings.window", "30", "45"),
    ]
    assert changes[1].label == "Settings › window"


def test_a_creation_lists_every_field_against_nothing() -> None:
    changes = field_changes(None, {"unit_ids": [], "name": "Rose Wing"})
    assert changes == [FieldChange("name", ABSENT, "Rose Wing"),
                       FieldChange("unit_ids", ABSENT, "(none)")]
    assert field_changes({"a": 1}, {"a": 1}) == []
    assert field_changes(None, None) == []


def test_one_line_form() -> None:
    assert changes_text({"unit_ids": ["*"]}, {"unit_ids": ["east", "west"]}) == (
        "Unit ids: * → east, west"
    )
