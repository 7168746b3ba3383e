"""An audit event's before/after values as a field-by-field difference, for people to read
(the audit viewer's detail pane and the audit CSV export).

Pure functions, any thread. Nested objects are flattened to dotted names (``settings.window``);
a list is one field, shown as its items joined by ", ". A field present on one side only shows
"—" on the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ABSENT = "—"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs: its dotted name and both values as text."""

    field: str
    before: str
    after: str

    @property
    def label(self) -> str:
        """The field's name in words: ``unit_ids`` -> "Unit ids", ``a.b_c`` -> "A › b c"."""
        words = " › ".join(part.replace("_", " ") for part in self.field.split("."))
        return words[:1].upper() + words[1:]


def _text(value: Any) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value) if value else "(none)"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text(v)}" for k, v in sorted(value.items()))
    return str(value)


def _flatten(value: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in (value or {}).items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            flat.update(_flatten(item, name + "."))
        else:
            flat[name] = item
    return flat


def field_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[FieldChange]:
    """The fields whose value differs between ``before`` and ``after``, in name order. Either
    may be None (a creation has no before, a removal no after)."""
    old, new = _flatten(before), _flatten(after)
    changes = []
    for name in sorted(old.keys() | new.keys()):
        was, now = old.get(name), new.get(name)
        if was != now:
            changes.append(
                FieldChange(
                    name,
                    _text(was) if name in old else ABSENT,
                    _text(now) if name in new else ABSENT,
                )
            )
    return changes


def changes_text(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """The difference on one line: ``Role: nurse → cna; Active: yes → no``."""
    return "; ".join(
        f"{change.label}: {change.before} → {change.after}"
        for change in field_changes(before, after)
    )
