"""The costly, stateless checks of pulled feed entries, for worker processes.

:func:`verify_chunk` proves each entry's bytes a canonical envelope (parse + re-encode), checks
its facility, that its device is registered and that the device key verifies its signature —
about three quarters of the CPU a pulled entry costs. It is a pure top-level function with
picklable arguments and results so a process pool can run it on both cores outside the
tablet's GIL (Python threads would serialise on the GIL: the parse and re-encode hold it).
The verdict for each entry is ``(code, reason)`` for the FIRST check that failed, in the order
the pull has always checked: malformed → wrong_facility → unknown_device → bad_signature;
else, for an administration (the bulk of any feed), its body validated and its projection
planned (:func:`storage.projection_plan.plan`: the same projector, recorded) so the tablet
process only stores rows; else ``None``. Chain position (and any other body) is checked
afterwards by :mod:`sync.pull`. Never raises for bad data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mar_desktop.chain import check_signature
from mar_desktop.envelope import parse_raw
from mar_desktop.errors import MarError
from mar_desktop.signing import PublicKey
from storage.projection_plan import PLANNABLE, PlannedEntry, plan, validated_body

Verdict = tuple[str, str] | PlannedEntry | None
"""``(code, reason)``: refused; ``None``: passed; a :class:`PlannedEntry`: passed, and its
body validated and its projection planned here (kinds in ``PLANNABLE``)."""

_KEYS: dict[bytes, PublicKey] = {}
"""Loaded public keys of this process (a worker verifies many chunks with the same keys)."""


def _key(raw: bytes) -> PublicKey:
    key = _KEYS.get(raw)
    if key is None:
        key = _KEYS[raw] = PublicKey(raw)
    return key


def verify_chunk(
    raws: Sequence[bytes], keys: Mapping[str, bytes], facility_id: str
) -> list[Verdict]:
    """One verdict per raw entry (see module doc). ``keys``: device id -> 32-byte key."""
    return [_verdict(raw, keys, facility_id) for raw in raws]


def _verdict(raw: bytes, keys: Mapping[str, bytes], facility_id: str) -> Verdict:
    try:
        entry = parse_raw(raw)
    except ValueError as exc:
        return "malformed", f"not a valid entry: {exc}"
    if entry.facility_id != facility_id:
        return "wrong_facility", "belongs to another facility"
    key = keys.get(entry.device_id)
    if key is None:
        return "unknown_device", "signed by a device the server did not announce"
    try:
        signed = check_signature(raw, _key(key))
    except ValueError:
        signed = False
    if not signed:
        return "bad_signature", "signature does not verify with the device key"
    if entry.kind not in PLANNABLE:
        return None
    try:
        return plan(entry, validated_body(entry))
    except MarError:
        return None  # the sync thread validates it again and reports why
