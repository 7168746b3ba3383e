"""Scan parsing and matching branches that ``test_barcodes.py`` leaves open: products without an
NDC, invalid codes on an order, separators, and an expiry hidden in the lot or serial."""

from __future__ import annotations

from datetime import date

import pytest
from biip.checksums import gs1_standard_check_digit

from mar_desktop.clinical.barcodes import (
    check_medication_scan,
    ndcs_match,
    normalize_ndc,
    parse_scan,
    scan_matches_order,
)
from mar_desktop.errors import RuleViolation
from tests.mar_desktop.clinical.factories import NY, local, order

GS = "\x1d"
NOW = local(NY, 2030, 6, 15, 9)


def with_check_digit(payload: str) -> str:
    return payload + str(gs1_standard_check_digit(payload))


DRUG_GTIN = "00" + with_check_digit("35042802941")  # "003" + NDC10 50428-029-41
RETAIL_GTIN = with_check_digit("0400638133393")  # an EAN-13 product: no NDC inside


def violation(code: str) -> pytest.RaisesExc[RuleViolation]:
    return pytest.raises(RuleViolation, check=lambda e: e.code == code)


def test_fixtures() -> None:
    assert parse_scan(RETAIL_GTIN).ndc10 is None
    assert parse_scan(DRUG_GTIN).ndc10 == "5042802941"


# ---- matching -----------------------------------------------------------------------------------
def test_a_product_without_an_ndc_matches_only_a_listed_gtin() -> None:
    scan = parse_scan(f"01{RETAIL_GTIN}17301231")
    assert scan_matches_order(scan, order(gtins=(RETAIL_GTIN,)))
    assert not scan_matches_order(scan, order(gtins=(DRUG_GTIN,), ndcs=("50428-029-41",)))
    with violation("wrong_medication"):
        check_medication_scan(scan, order(ndcs=("50428-029-41",)), now=NOW, zone=NY)
    check_medication_scan(scan, order(gtins=(RETAIL_GTIN,)), now=NOW, zone=NY)


def test_an_invalid_ndc_on_the_order_does_not_hide_the_valid_ones_after_it() -> None:
    scan = parse_scan("50428-029-41")
    listed = order(ndcs=("123-4567-890", "50428-029-41"))
    assert scan_matches_order(scan, listed)
    check_medication_scan(scan, listed, now=NOW, zone=NY)


def test_ndcs_with_nothing_known_on_one_side_never_match() -> None:
    assert not ndcs_match(("12345678901", None), (None, None))
    assert not ndcs_match((None, None), (None, "1234567890"))


def test_ten_characters_that_are_not_digits_are_not_an_ndc() -> None:
    with pytest.raises(ValueError, match="not an NDC"):
        normalize_ndc("ABCDEFGHIJ")
    with pytest.raises(ValueError, match="not an NDC"):
        normalize_ndc("12345678901X")


# ---- parsing ------------------------------------------------------------------------------------
def test_a_gs1_scan_keeps_its_raw_text() -> None:
    raw = f"01{DRUG_GTIN}17301231{GS}10L1"
    assert parse_scan(raw).raw == raw
    assert parse_scan(DRUG_GTIN).raw == DRUG_GTIN


def test_a_separator_substitute_typed_first_is_dropped() -> None:
    scan = parse_scan(f"<GS>01{RETAIL_GTIN}17301231")
    assert (scan.gtin, scan.expiry) == (RETAIL_GTIN, date(2030, 12, 31))


def test_an_expiry_already_read_is_not_searched_for_in_the_lot() -> None:
    scan = parse_scan(f"01{RETAIL_GTIN}1730063010A17300630")
    assert (scan.lot, scan.expiry, scan.warnings) == ("A17300630", date(2030, 6, 30), ())


def test_a_scan_with_separators_is_taken_as_read() -> None:
    scan = parse_scan(f"01{RETAIL_GTIN}10LOT4217300630{GS}21SN1")
    assert (scan.lot, scan.serial, scan.expiry) == ("LOT4217300630", "SN1", None)


def test_a_lot_starting_with_expiry_digits_is_split_at_the_later_expiry() -> None:
    scan = parse_scan(f"01{RETAIL_GTIN}1017300630A17300701")
    assert (scan.lot, scan.expiry) == ("17300630A", date(2030, 7, 1))


def test_the_swallowed_expiry_is_found_when_the_gtin_holds_the_same_digits() -> None:
    # The lot's AI and digits "10917300630" also stand inside this GTIN; the lot is the one at
    # the end of the scan.
    gtin = with_check_digit("0010917300630")
    assert "10917300630" in gtin
    scan = parse_scan(f"01{gtin}10917300630")
    assert (scan.gtin, scan.lot, scan.expiry) == (gtin, "9", date(2030, 6, 30))
    assert any("separators" in w for w in scan.warnings)
