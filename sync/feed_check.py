"""A pulled entry after the stateless checks: its verdict, and its entry and body parsed once.

:func:`complete` runs on the sync thread for each entry of a page once
:func:`sync.feed_verify.verify_chunk` has judged its bytes (in a worker process or inline):
an entry that passed is decoded again WITHOUT the canonical re-encode (the verifier proved it
canonical) and its body validated — once; the ledger writer takes the validated body as is.
An entry that failed keeps its verdict, and its parsed envelope when it has one (for the
quarantine record). An administration the verifier already validated and planned
(:class:`~storage.projection_plan.PlannedEntry`) is taken as it is: nothing to parse here.
Raises nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from mar_desktop import kinds
from mar_desktop.envelope import Entry, parse_raw
from mar_desktop.errors import MarError
from mar_desktop.kinds import Body
from storage.projection_plan import PlannedEntry
from sync.feed_verify import Verdict


@dataclass(frozen=True, slots=True)
class Prechecked:
    """One feed entry after the stateless checks."""

    pos: int
    raw: bytes
    entry: Entry | None
    """None when the bytes are not an entry (``code`` is then ``malformed``)."""
    body: Body | None
    """The validated body (None if it did not validate or an earlier check failed)."""
    code: str | None = None
    """First stateless failure: malformed, wrong_facility, unknown_device, bad_signature."""
    reason: str | None = None
    body_error: str | None = None
    """Why the body did not validate (reported only if the chain check passes)."""
    planned: PlannedEntry | None = None
    """Passed, body validated and projection planned by the verifier (``entry`` is None)."""

    @property
    def subject(self) -> Entry | PlannedEntry | None:
        """The entry as far as chain checks and the quarantine are concerned."""
        return self.planned if self.planned is not None else self.entry


def complete(pos: int, raw: bytes, verdict: Verdict) -> Prechecked:
    """The entry and body of a judged feed entry (see module doc)."""
    if isinstance(verdict, PlannedEntry):
        return Prechecked(pos, raw, None, None, planned=verdict)
    if verdict is not None:
        code, reason = verdict
        try:
            entry: Entry | None = parse_raw(raw)
        except ValueError:
            entry = None
        return Prechecked(pos, raw, entry, None, code, reason)
    try:
        entry = parse_raw(raw, known_canonical=True)
    except ValueError as exc:  # cannot happen for bytes the verifier accepted; stay safe
        return Prechecked(pos, raw, None, None, "malformed", f"not a valid entry: {exc}")
    try:
        body = kinds.parse_body(entry.kind, entry.body)
    except MarError as exc:
        return Prechecked(pos, raw, entry, None, body_error=str(exc))
    return Prechecked(pos, raw, entry, body)
