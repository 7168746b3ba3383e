"""Bounded scalar types for data that crosses a trust boundary: request bodies and path
parameters of the sync server, and credential records.

Every value a peer sends is refused (pydantic ``ValidationError``) unless it is of the declared
JSON type without coercion (``"3"`` is not an integer, ``1`` is not a boolean), integers fit a
signed 64-bit column (both stores keep them in ``BIGINT`` / SQLite ``INTEGER``), and strings are
bounded in length and hold no NUL or other control character (PostgreSQL refuses NUL in text;
logs and screens must not be steered by control characters). Pure; any thread.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, StrictStr

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

PRINTABLE_ASCII = r"^[\x21-\x7e]+$"
"""Visible ASCII, no space: identifiers, tokens, hashes."""
PRINTABLE_TEXT = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""Any Unicode text without C0/C1 control characters (so no NUL, tab or newline)."""

Int64 = Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer that fits a signed 64-bit column."""
Count64 = Annotated[StrictInt, Field(ge=0, le=INT64_MAX)]
"""A non-negative 64-bit integer: a seq, a position, a TOTP time step."""
Version64 = Annotated[StrictInt, Field(ge=1, le=INT64_MAX)]
"""A version number: 1 or more, within 64 bits."""

IdText = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=PRINTABLE_ASCII)]
"""An identifier (user, device, entry): 1–64 visible ASCII characters."""

