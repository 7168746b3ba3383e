"""Canonical JSON: the exact bytes that are signed and hashed.

UTF-8, keys sorted by code point, no insignificant whitespace, no floats (quantities are decimal
strings), no NaN. Changing anything here breaks every signature ever made: the golden vectors
in ``tests/mar_desktop/test_envelope_vectors.py`` fail if it changes.

The reference encoder is the standard library's (``_ENCODER``). Values made only of exact JSON
types are encoded by orjson instead, about 10x faster, and orjson's bytes are the reference's:
the same escapes (only ``"``, ``\\`` and U+0000–U+001F, in the same forms), keys sorted by code
point, the same compact separators. ``tests/mar_desktop/test_canonical_fast_path.py`` checks
this for every code point and for random documents, and ``_FAST`` checks the installed orjson
against the reference at import. What orjson refuses (integers beyond 64 bits, lone surrogates,
nesting deeper than 254) goes to the reference encoder, so nothing changes there.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

JsonValue = None | bool | int | str | list["JsonValue"] | dict[str, "JsonValue"]

_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return
    if isinstance(value, float):
        raise TypeError(f"float at {path}: use a decimal string")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"non-string key at {path}")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise TypeError(f"{type(value).__name__} at {path} is not canonical JSON")


_PLAIN = frozenset({str, int, bool, type(None)})


def _plain_json(value: Any) -> bool:
    """Fast path of :func:`_check`: True when every node has exactly a JSON type (no float,
    no subclass). Anything else goes to the precise check, which names the offending path."""
    stack = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        kind = type(node)
        if kind in _PLAIN:
            continue
        if kind is dict:
            for key, item in node.items():
                if type(key) is not str:
                    return False
                push(item)
        elif kind is list or kind is tuple:
            extend(node)
        else:
            return False
    return True


_TOO_DEEP = "JSON nested too deeply"


def _reference_bytes(value: Any) -> bytes:
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except RecursionError:  # ~990 levels: no entry is, but pushed or pulled bytes may be
        raise ValueError(_TOO_DEEP) from None


def _orjson_bytes(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


# Every character the two encoders could write differently (each control character, the two
# that are escaped, the separators JavaScript escapes, a non-BMP character, keys whose order
# differs between code-point and UTF-16 order) and the integer edges orjson still takes.
_PROBE: Any = {
    "".join(map(chr, range(0x20))) + '"\\/\x7f\u2028\u2029\ufeff\U0001f48a': [
        -(2**63),
        2**64 - 1,
        True,
        None,
        ("é", {}),
    ],
    "\ue000": 1,
    "\U00010000": 2,
    "": 0,
}


def _orjson_agrees() -> bool:
    return _orjson_bytes(_PROBE) == _reference_bytes(_PROBE)


_FAST = _orjson_agrees()
"""Whether the installed orjson writes the reference bytes (orjson 3.10.17, for one, mangled
U+000B). If it ever does not, everything is encoded by the reference encoder: slower, the
same bytes."""


def _plain_bytes(value: Any) -> bytes:
    """Canonical bytes of a value made only of exact JSON types without floats (see the module
    doc): orjson's, or the reference encoder's for what orjson refuses. Raises
    ``UnicodeEncodeError`` for a lone surrogate, as the reference encoder does."""
    if _FAST:
        try:
            return _orjson_bytes(value)
        except orjson.JSONEncodeError:
            pass
    return _reference_bytes(value)


def canonical_bytes(value: Any) -> bytes:
    """Encodes ``value`` canonically. Raises ``TypeError`` on floats or non-JSON types,
    ``UnicodeEncodeError`` (a ``ValueError``) for a lone surrogate, ``ValueError`` for nesting
    deeper than the interpreter's recursion limit."""
    if _plain_json(value):
        return _plain_bytes(value)
    try:
        _check(value, "$")
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None
    return _reference_bytes(value)


def canonical_text(value: Any) -> str:
    """:func:`canonical_bytes` decoded, for TEXT columns. Raises as ``canonical_bytes``."""
    return canonical_bytes(value).decode("utf-8")


def encode_decoded(value: Any) -> bytes:
    """:func:`canonical_bytes` of a value that :func:`loads` produced.

    ``loads`` yields only exact JSON types and refuses floats and constants, so the type walk
    of :func:`canonical_bytes` cannot fail and is skipped (the hot path of checking that pulled
    entries are canonical). Raises ``UnicodeEncodeError`` (a ``ValueError``) for a lone
    surrogate, like ``canonical_bytes``. ONLY for such values: anything else (a float, a
    datetime) is not refused here and may come out as bytes that are not canonical.
    """
    return _plain_bytes(value)


def _no_float(text: str) -> Any:
    raise ValueError(f"float {text} in canonical JSON")


_DECODER = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float)


def loads(data: bytes | str) -> Any:
    """Parses JSON, refusing floats so a decoded entry re-encodes to the same bytes.

    Same rules as ``json.loads`` (encoding detection of bytes, a UTF-8 BOM refused) with one
    decoder built once: this runs for every entry pulled or verified. Raises ``ValueError``
    (``json.JSONDecodeError`` for bad JSON) for anything it refuses, nesting too deep included.
    """
    if isinstance(data, bytes | bytearray):
        text = data.decode(json.detect_encoding(data), "surrogatepass")
    else:
        text = data
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    try:
        return _DECODER.decode(text)
    except RecursionError:  # a hostile push or feed must be refused, not crash the checker
        raise ValueError(_TOO_DEEP) from None
