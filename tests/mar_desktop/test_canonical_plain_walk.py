"""The fast path's type walk (``canonical._plain_json``): every node is looked at, whatever
comes before it, so a float can never reach orjson and be written as non-canonical bytes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from mar_desktop.canonical import _plain_json, canonical_bytes


class Colour(StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    "value",
    [
        [1.5, 1],  # a float, then a plain value (the walk takes the last first)
        [1, 1.5],
        ["a", None, True, 2.0],
        [2.0, "a", None, True],
        {"a": 1.5, "b": 1},
        {"a": 1, "b": 1.5},
        {"a": [[1.5]], "b": "x"},
        ("x", (1.5,)),
    ],
)
def test_a_float_anywhere_is_refused(value: Any) -> None:
    assert _plain_json(value) is False
    with pytest.raises(TypeError, match="float at"):
        canonical_bytes(value)


@pytest.mark.parametrize(
    "value", [[1, {1: "a"}], {"a": {2: "b"}, "b": 1}, [Colour.RED, 1], [1, Colour.RED]]
)
def test_non_string_keys_and_subclasses_leave_the_fast_path(value: Any) -> None:
    assert _plain_json(value) is False


@pytest.mark.parametrize(
    "value", [None, 1, "a", True, [], {}, [1, "a", None, False], {"a": [1, {"b": ("c",)}]}]
)
def test_exact_json_types_take_the_fast_path(value: Any) -> None:
    assert _plain_json(value) is True


def test_non_string_key_after_a_plain_value_is_refused() -> None:
    with pytest.raises(TypeError, match="non-string key"):
        canonical_bytes({"a": 1, "b": {1: "x"}})


def test_a_str_enum_encodes_as_its_value() -> None:
    assert canonical_bytes([1, Colour.RED]) == b'[1,"red"]'
