"""Which app versions may work together (mar_desktop/versions.py)."""

from __future__ import annotations

import pytest

from mar_desktop.versions import UNNAMED_TABLET, older_than, this_app_older_than


@pytest.mark.parametrize(
    ("named", "oldest", "older"),
    [
        ("0.1.0", "0.1.0", False),
        ("0.2.0", "0.1.0", False),
        ("0.1.9", "0.2.0", True),
        ("0.10.0", "0.9.0", False),  # compared as versions, not as text
        ("0.2.0rc1", "0.2.0", True),
        (None, UNNAMED_TABLET, False),  # a release before tablets named their version
        (None, "0.2.0", True),
        ("", "0.1.0", True),  # unreadable: refused
        ("banana", "0.1.0", True),
        ("1" * 50, "0.1.0", True),
    ],
)
def test_older_than(named: str | None, oldest: str, older: bool) -> None:
    assert older_than(named, oldest) is older


def test_a_floor_that_is_not_a_version_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        older_than("0.1.0", "latest")


def test_this_app_is_never_older_than_what_the_release_accepts() -> None:
    assert not this_app_older_than(UNNAMED_TABLET)
    assert this_app_older_than("not a version")
