"""Bedside scans: medication barcodes and wristbands (the five rights of
docs/architecture.md#clinical-defaults). Pure functions.

A keyboard-wedge scanner types what it reads, ended by Enter. :func:`parse_scan` understands:

* GS1 element strings (GS1 DataMatrix / GS1-128) with AI 01 (GTIN), 17 (expiry), 10 (lot),
  21 (serial), with or without the AIM symbology prefix (``]d2``, ``]C1``, ``]Q3``) and with the
  FNC1 separators typed as GS (``\\x1d``) or as one of :data:`GS_SUBSTITUTES`. Without any
  separator a variable-length field (lot, serial) runs to the end of the scan; if AI 17 is then
  missing and exactly one ``17YYMMDD`` inside that field makes a valid message when split
  there, the expiry is taken from it and ``ScanResult.warnings`` says so.
* Plain GTIN-8/12/13/14 (UPC-A, EAN-13), check digit verified.
* NDC: 10 digits in 4-4-2, 5-3-2 or 5-4-1 hyphenated form, 11 digits as 5-4-2 or plain,
  and 10 plain digits (segmentation unknown).

US drug GTINs carry the 10-digit NDC: GTIN-12 (UPC-A) ``3`` + NDC10 + check digit, i.e. GTIN-14
``003`` + NDC10 + check digit. The NDC is read from GTINs of that form only.

Matching an NDC without its hyphens relies on the FDA keeping 10-digit NDCs unique as digit
strings whatever their segmentation (as bar codes, which cannot carry hyphens, require): a plain
NDC10 matches an NDC11 when the NDC11 is one of its three 11-digit expansions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import biip
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin

from mar_desktop.errors import RuleViolation
from mar_desktop.model import Order, Resident

GS = "\x1d"
GS_SUBSTITUTES: tuple[str, ...] = ("<GS>", "{GS}", "[GS]", "<gs>", "{gs}", "[gs]")
"""Texts some keyboard-wedge scanners are set up to type for FNC1/GS. ``{`` and ``[`` are
outside GS1 character set 82, so those can never be data; ``<GS>`` could be in principle but is
not a plausible lot or serial."""

_SYMBOLOGY = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_NDC_HYPHENATED = re.compile(r"^(\d{4,5})-(\d{3,4})-(\d{1,2})$")
_NDC_LABEL = re.compile(r"^\s*NDC[\s:#]*", re.IGNORECASE)
_EMBEDDED_EXPIRY = re.compile(r"17(\d{6})")
_CONFIG = biip.ParseConfig(separator_chars=(GS,))


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What a medication scan says. ``gtin`` is 14 digits; ``ndc`` the 11-digit (5-4-2, no
    hyphens) NDC when the scan fixes it; ``ndc10`` the 10 NDC digits when the scan carries a
    10-digit NDC (from a hyphenated NDC10, a plain 10-digit NDC or a US drug GTIN)."""

    raw: str
    gtin: str | None = None
    ndc: str | None = None
    ndc10: str | None = None
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    warnings: tuple[str, ...] = ()


def _unreadable(detail: str) -> RuleViolation:
    return RuleViolation(
        f"The scan could not be read: {detail}. Scan again.", code="unreadable_scan"
    )


# ---- NDC ----------------------------------------------------------------------------------------
def normalize_ndc(text: str) -> tuple[str | None, str | None]:
    """``(ndc11, ndc10)`` for an NDC written as 4-4-2, 5-3-2, 5-4-1, 5-4-2, 11 or 10 plain
    digits (either may be None when the form does not fix it). Raises ``ValueError`` otherwise."""
    text = text.strip()
    match = _NDC_HYPHENATED.match(text)
    if match:
        labeler, product, package = match.groups()
        shape = (len(labeler), len(product), len(package))
        if shape == (5, 4, 2):
            return labeler + product + package, None
        if shape in {(4, 4, 2), (5, 3, 2), (5, 4, 1)}:
            ndc11 = labeler.zfill(5) + product.zfill(4) + package.zfill(2)
            return ndc11, labeler + product + package
        raise ValueError(f"not an NDC shape: {shape}")
    if text.isdigit() and len(text) == 11:
        return text, None
    if text.isdigit() and len(text) == 10:
        return None, text
    raise ValueError("not an NDC")


def ndc10_to_ndc11_candidates(ndc10: str) -> frozenset[str]:
    """The 11-digit forms of a 10-digit NDC whose segmentation is unknown (4-4-2, 5-3-2,
    5-4-1)."""
    return frozenset({"0" + ndc10, ndc10[:5] + "0" + ndc10[5:], ndc10[:9] + "0" + ndc10[9:]})


def ndc10_from_gtin(gtin14: str) -> str | None:
    """The NDC10 inside a US drug GTIN (``003`` + NDC10 + check digit), else None."""
    if len(gtin14) == 14 and gtin14.startswith("003"):
        return gtin14[3:13]
    return None


# ---- parsing ------------------------------------------------------------------------------------
def _clean(raw: str) -> tuple[str, bool]:
    """Strips whitespace and line ends, maps separator substitutes to GS; drops a leading GS
    (an FNC1 in first position). Returns the text and whether it had a symbology prefix."""
    text = raw.strip().strip("\r\n")
    for substitute in GS_SUBSTITUTES:
        text = text.replace(substitute, GS)
    has_prefix = bool(_SYMBOLOGY.match(text))
    return text.lstrip(GS), has_prefix


def _conflicting(message: GS1Message) -> bool:
    """Whether one AI appears twice with different values (GS1 forbids it)."""
    seen: dict[str, str] = {}
    for element in message.element_strings:
        if seen.setdefault(element.ai.ai, element.value) != element.value:
            return True
    return False


def _field(message: GS1Message, ai: str) -> GS1ElementString | None:
    """The element string with exactly this AI; the same AI twice with different values makes
    the scan unreadable (GS1 forbids it)."""
    found = [e for e in message.element_strings if e.ai.ai == ai]
    if len({e.value for e in found}) > 1:
        raise _unreadable(f"conflicting values for AI ({ai})")
    return found[0] if found else None


def _from_message(raw: str, message: GS1Message, warnings: list[str]) -> ScanResult:
    gtin = _field(message, "01")
    expiry = _field(message, "17")
    lot = _field(message, "10")
    serial = _field(message, "21")
    if gtin is None:
        raise _unreadable("no product code (GTIN) in the scan")
    if gtin.gtin is None:
        raise _unreadable("the product code's check digit is wrong")
    gtin14 = gtin.gtin.as_gtin_14()
    return ScanResult(
        raw=raw,
        gtin=gtin14,
        ndc10=ndc10_from_gtin(gtin14),
        lot=lot.value if lot is not None else None,
        expiry=expiry.date if expiry is not None else None,
        serial=serial.value if serial is not None else None,
        warnings=tuple(warnings),
    )


def _split_embedded_expiry(text: str, message: GS1Message) -> GS1Message | None:
    """For a scan without separators whose lot or serial swallowed ``17YYMMDD…``: the message
    re-read with a GS before that ``17``, if exactly one position gives a valid message with an
    expiry."""
    if _field(message, "17") is not None or GS in text:
        return None
    results: list[GS1Message] = []
    for ai in ("10", "21"):
        element = _field(message, ai)
        if element is None:
            continue
        # Without separators the field runs to the end of the text: find its last occurrence
        # (the same digits may also stand earlier, inside the GTIN).
        start = text.rfind(ai + element.value)
        if start < 0:
            continue
        value_start = start + len(ai)
        for found in _EMBEDDED_EXPIRY.finditer(element.value):
            if found.start() == 0:
                continue  # a field cannot be empty
            cut = value_start + found.start()
            try:
                candidate = GS1Message.parse(text[:cut] + GS + text[cut:], config=_CONFIG)
            except biip.ParseError:
                continue
            if not _conflicting(candidate) and _field(candidate, "17") is not None:
                results.append(candidate)
    return results[0] if len(results) == 1 else None


@lru_cache(maxsize=512)
def parse_scan(raw: str) -> ScanResult:
    """Reads one medication scan. Raises ``RuleViolation(code="unreadable_scan")`` when it is not
    a GS1 message with a GTIN, a GTIN with a valid check digit, or an NDC.

    Pure and cached: the bedside screen parses a scan when it arrives and the recording service
    checks it again on confirm; the second parse of the same text is free."""
    text, has_prefix = _clean(raw)
    if not text:
        raise _unreadable("the scan is empty")
    body = _SYMBOLOGY.sub("", text).lstrip(GS) if has_prefix else text

    ndc_text = _NDC_LABEL.sub("", body)
    if _NDC_HYPHENATED.match(ndc_text) or (ndc_text.isdigit() and len(ndc_text) in {10, 11}):
        try:
            ndc11, ndc10 = normalize_ndc(ndc_text)
        except ValueError:
            raise _unreadable("not a valid NDC") from None
        return ScanResult(raw=raw, ndc=ndc11, ndc10=ndc10)

    if body.isdigit() and len(body) in {8, 12, 13, 14}:
        try:
            gtin14 = Gtin.parse(body).as_gtin_14()
        except biip.ParseError:
            raise _unreadable("the check digit is wrong") from None
        return ScanResult(raw=raw, gtin=gtin14, ndc10=ndc10_from_gtin(gtin14))

    try:
        message = GS1Message.parse(body, config=_CONFIG)
    except biip.ParseError:
        raise _unreadable("not a medication barcode") from None
    warnings: list[str] = []
    split = _split_embedded_expiry(body, message)
    if split is not None:
        message = split
        warnings.append(
            "The scan had no field separators; the expiry date was read from inside the lot "
            "or serial number. Check it against the package."
        )
    result = _from_message(raw, message, warnings)
    if result.expiry is None:
        no_expiry = "No expiry date in the scan: check it on the package."
        result = replace(result, warnings=(*result.warnings, no_expiry))
    return result


# ---- matching -----------------------------------------------------------------------------------
def ndcs_match(a: tuple[str | None, str | None], b: tuple[str | None, str | None]) -> bool:
    """Whether two NDCs, each ``(ndc11, ndc10)`` as :func:`normalize_ndc` gives, are the same.

    When both 11-digit forms are known they decide alone (``50428-029-41`` is not
    ``50428-0294-1``); else the 10 digits, or an NDC10 against the other's 11-digit form by
    its three possible expansions."""
    a11, a10 = a
    b11, b10 = b
    if a11 is not None and b11 is not None:
        return a11 == b11
    if a10 is not None and b10 is not None:
        return a10 == b10
    if a10 is not None and b11 is not None:
        return b11 in ndc10_to_ndc11_candidates(a10)
    if b10 is not None and a11 is not None:
        return a11 in ndc10_to_ndc11_candidates(b10)
    return False


def _order_ndcs(order: Order, gtins: set[str]) -> list[tuple[str | None, str | None]]:
    found: list[tuple[str | None, str | None]] = [
        (None, ten) for ten in map(ndc10_from_gtin, gtins) if ten is not None
    ]
    for text in order.ndcs:
        try:
            found.append(normalize_ndc(text))
        except ValueError:
            continue  # cannot match anything; an order's codes are validated when entered
    return found


def scan_matches_order(scan: ScanResult, order: Order) -> bool:
    """Whether the scanned product is one the order names, by GTIN (any length, compared as
    GTIN-14) or by NDC (:func:`ndcs_match`; NDCs inside US drug GTINs count)."""
    gtins = {g.zfill(14) for g in order.gtins}
    if scan.gtin is not None and scan.gtin in gtins:
        return True
    if scan.ndc is None and scan.ndc10 is None:
        return False
    scanned = (scan.ndc, scan.ndc10)
    return any(ndcs_match(scanned, listed) for listed in _order_ndcs(order, gtins))


def check_medication_scan(scan: ScanResult, order: Order, *, now: datetime, zone: ZoneInfo) -> None:
    """The scanned product must be the order's (``wrong_medication``; an order naming no GTIN
    or NDC cannot be checked: ``no_product_codes``) and not expired: an expiry date before
    today in the facility's zone is refused (``expired``); the expiry day itself is still
    usable. ``now`` is aware UTC, ``zone`` the facility's (``Facility.zone``)."""
    today = now.astimezone(zone).date()
    if not order.gtins and not order.ndcs:
        raise RuleViolation(
            "This order lists no product barcode; confirm the medication by hand.",
            code="no_product_codes",
        )
    if not scan_matches_order(scan, order):
        raise RuleViolation(
            "Wrong medication: the scanned product does not match this order.",
            code="wrong_medication",
        )
    if scan.expiry is not None and scan.expiry < today:
        raise RuleViolation(
            f"This lot expired on {scan.expiry.isoformat()}; do not use it.", code="expired"
        )


def check_wristband(scanned: str, resident: Resident) -> None:
    """The scanned wristband id must equal ``resident.wristband_id`` exactly after stripping
    whitespace and a symbology prefix (``wrong_resident``); an empty scan is
    ``unreadable_scan``."""
    text, has_prefix = _clean(scanned)
    if has_prefix:
        text = _SYMBOLOGY.sub("", text)
    text = text.strip()
    if not text:
        raise _unreadable("the scan is empty")
    if text != resident.wristband_id:
        raise RuleViolation(
            "Wrong resident: this wristband does not belong to the selected resident.",
            code="wrong_resident",
        )
