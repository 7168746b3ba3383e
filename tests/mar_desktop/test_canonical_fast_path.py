"""orjson encodes canonical JSON for values of exact JSON types; its bytes must be the reference
encoder's (the standard library's, which every signature so far was made with) for every
value, or entries encoded by one and checked by the other would stop verifying."""

from __future__ import annotations

import sys
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mar_desktop import canonical
from mar_desktop.canonical import canonical_bytes, canonical_text, encode_decoded, loads


def _fast(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _reference(value: Any) -> bytes:
    return canonical._reference_bytes(value)


def test_every_code_point_is_escaped_as_the_reference_does() -> None:
    for block in range(0, sys.maxunicode + 1, 4096):
        chars = [chr(c) for c in range(block, block + 4096) if not 0xD800 <= c <= 0xDFFF]
        text = "".join(chars)
        value = {text: [text, *chars]}
        assert _fast(value) == _reference(value), f"block U+{block:04X}"


def test_keys_sort_by_code_point_across_planes() -> None:
    # UTF-16 order would put U+10000 (a surrogate pair) before U+E000; code-point order not.
    keys = ["\ue000", "\U00010000", "\uffff", "\U0001f600", "a", "\x7f", "\x00", "", "a\x00"]
    value = {key: index for index, key in enumerate(keys)}
    assert _fast(value) == _reference(value)
    assert canonical_bytes(value).index("\ue000".encode()) < canonical_bytes(value).index(
        "\U00010000".encode()
    )


_KEYS = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=["Cs"]))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | _KEYS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(_JSON)
def test_random_documents_encode_to_the_reference_bytes(value: Any) -> None:
    assert _fast(value) == _reference(value)
    assert canonical_bytes(value) == _reference(value)
    assert encode_decoded(loads(_reference(value))) == _reference(value)


def test_what_orjson_refuses_goes_to_the_reference_encoder() -> None:
    big = {"n": 2**64, "m": -(2**63) - 1, "k": 10**40}
    with pytest.raises(orjson.JSONEncodeError):
        _fast(big)
    assert (
        canonical_bytes(big)
        == b'{"k":' + str(10**40).encode() + b',"m":-9223372036854775809,"n":18446744073709551616}'
    )
    assert encode_decoded(loads(canonical_bytes(big))) == canonical_bytes(big)
    deep: list[Any] = []
    inner = deep
    for _ in range(300):
        inner.append([])
        inner = inner[0]
    assert canonical_bytes(deep) == b"[" * 301 + b"]" * 301
    for lone in ({"a": "\ud800"}, {"\udfff": 1}):
        with pytest.raises(UnicodeEncodeError):
            canonical_bytes(lone)
        with pytest.raises(UnicodeEncodeError):
            encode_decoded(lone)


def test_canonical_text_is_the_bytes_decoded() -> None:
    value = {"spo2": "97", "é": ["1", None]}
    assert canonical_text(value) == canonical_bytes(value).decode("utf-8")
    assert canonical_text({}) == "{}"


def test_an_orjson_that_writes_other_bytes_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    assert canonical._FAST, "the installed orjson should agree with the reference encoder"

    def mangled(value: Any) -> bytes:  # what orjson 3.10.17 did to U+000B
        return _fast(value).replace(b"\\u000b", b"\\u")

    monkeypatch.setattr(canonical, "_orjson_bytes", mangled)
    assert not canonical._orjson_agrees()
    monkeypatch.setattr(canonical, "_FAST", False)
    value = {"note": "tab\tvt\x0b", "n": [1, None, True]}
    assert canonical_bytes(value) == _reference(value)
    assert encode_decoded(value) == _reference(value)


def test_nesting_too_deep_is_a_value_error_not_a_crash() -> None:
    """A pushed or pulled entry nested thousands deep must be refused like any malformed one
    (the checkers catch ValueError), not escape as RecursionError from the verifier."""
    from mar_desktop.envelope import parse_raw
    from mar_desktop.model import Role
    from sync.server.checker import check_one

    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ValueError, match="nested too deeply"):
        loads(deep)
    nested: list[Any] = []
    inner = nested
    for _ in range(5000):
        inner.append([])
        inner = inner[0]
    with pytest.raises(ValueError, match="nested too deeply"):
        canonical_bytes(nested)
    inner.append(Role.NURSE)  # a str subclass: the precise type check walks all the way down
    with pytest.raises(ValueError, match="nested too deeply"):
        canonical_bytes(nested)
    for depth in (995, 5000):
        raw = b'{"actor":{},"body":' + b"[" * depth + b"]" * depth + b',"device_id":"d"}'
        with pytest.raises(ValueError):
            parse_raw(raw)
        checked = check_one(raw, None, "d", "f")  # type: ignore[arg-type]
        assert checked.code == "malformed"
