"""``canonical.loads``: text and bytes in, floats and a BOM in text refused, lone surrogates
in bytes kept (as ``json.loads`` keeps them) so that encoding, not decoding, refuses them."""

from __future__ import annotations

import pytest

from mar_desktop.canonical import canonical_bytes, loads


def test_text_and_bytes_decode_alike() -> None:
    assert loads('{"a":[1,"é",null]}') == {"a": [1, "é", None]}
    assert loads('{"a":[1,"é",null]}'.encode()) == {"a": [1, "é", None]}
    assert loads(bytearray(b"[true]")) == [True]


def test_a_lone_surrogate_in_bytes_is_kept_and_refused_when_encoded() -> None:
    value = loads(b'["\xed\xa0\x80"]')
    assert value == ["\ud800"]
    with pytest.raises(UnicodeEncodeError):
        canonical_bytes(value)


def test_a_bom_at_the_start_of_text_is_refused() -> None:
    with pytest.raises(ValueError, match="BOM"):
        loads("\ufeff[1]")


@pytest.mark.parametrize("text", ["1.5", "[1e3]", "NaN", "[Infinity]"])
def test_floats_and_constants_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="float"):
        loads(text)
