"""Bedside scans: GS1 DataMatrix element strings, UPC/EAN GTINs, NDC forms, matching."""

from __future__ import annotations

from datetime import date

import pytest
from biip.checksums import gs1_standard_check_digit

from mar_desktop.clinical.barcodes import (
    check_medication_scan,
    check_wristband,
    ndc10_to_ndc11_candidates,
    normalize_ndc,
    parse_scan,
)
from mar_desktop.errors import RuleViolation
from tests.mar_desktop.clinical.factories import NY, local, order, resident

GS = "\x1d"


def with_check_digit(payload: str) -> str:
    return payload + str(gs1_standard_check_digit(payload))


NDC10 = "5042802941"  # fictional 10-digit NDC (5-3-2: 50428-029-41)
UPC_A = with_check_digit("3" + NDC10)  # 12 digits: number system 3 + NDC10 + check
GTIN14 = "00" + UPC_A  # "003" + NDC10 + check digit
OTHER_GTIN14 = with_check_digit("0031234567890")


def violation(code: str) -> pytest.RaisesExc[RuleViolation]:
    return pytest.raises(RuleViolation, check=lambda e: e.code == code)


def test_check_digits_of_fixtures_are_real() -> None:
    assert len(UPC_A) == 12
    assert GTIN14.startswith("003")
    assert len(GTIN14) == 14


# ---- GS1 element strings ------------------------------------------------------------------------
def test_datamatrix_with_gs_separators_any_order() -> None:
    for raw in (
        f"01{GTIN14}17301231" + f"10AB12C{GS}21SN0001",
        f"01{GTIN14}10AB12C{GS}17301231" + "21SN0001",
        f"01{GTIN14}21SN0001{GS}10AB12C{GS}17301231",
        f"]d201{GTIN14}10AB12C{GS}17301231{GS}21SN0001",  # AIM symbology prefix
        f"{GS}01{GTIN14}10AB12C{GS}17301231{GS}21SN0001",  # leading FNC1 typed as GS
        f"01{GTIN14}10AB12C<GS>17301231<GS>21SN0001\r\n",  # scanner typing <GS>, with Enter
    ):
        scan = parse_scan(raw)
        assert scan.gtin == GTIN14, raw
        assert scan.ndc10 == NDC10
        assert scan.lot == "AB12C"
        assert scan.expiry == date(2030, 12, 31)
        assert scan.serial == "SN0001"
        assert scan.warnings == ()


def test_datamatrix_without_separators_when_fixed_fields_come_first() -> None:
    scan = parse_scan(f"01{GTIN14}1730063010LOT42")
    assert (scan.gtin, scan.expiry, scan.lot) == (GTIN14, date(2030, 6, 30), "LOT42")


def test_datamatrix_expiry_day_00_is_last_day_of_month() -> None:
    assert parse_scan(f"01{GTIN14}17300200").expiry == date(2030, 2, 28)


def test_datamatrix_without_separators_expiry_swallowed_by_lot_is_recovered_with_warning() -> None:
    scan = parse_scan(f"01{GTIN14}10LOT4217300630")
    assert (scan.lot, scan.expiry) == ("LOT42", date(2030, 6, 30))
    assert any("separators" in w for w in scan.warnings)
    serial_first = parse_scan(f"01{GTIN14}21SN9173006301" + "0LOT7")
    assert serial_first.expiry == date(2030, 6, 30)
    assert (serial_first.serial, serial_first.lot) == ("SN9", "LOT7")


def test_datamatrix_ambiguous_swallowed_expiry_is_not_guessed() -> None:
    # Two places inside the serial give valid messages with an expiry: read none, say so.
    scan = parse_scan(f"01{GTIN14}21S1730063010L17300701")
    assert scan.expiry is None
    assert any("No expiry" in w for w in scan.warnings)


def test_datamatrix_swallowed_expiry_only_where_the_split_reads_cleanly() -> None:
    # Splitting before the first "17" leaves "B17300701", not an element string: only the
    # second place reads, so the lot is "A17300630B".
    scan = parse_scan(f"01{GTIN14}10A17300630B17300701")
    assert (scan.lot, scan.expiry) == ("A17300630B", date(2030, 7, 1))
    # A split that would give two different lots is not a reading.
    two_lots = parse_scan(f"01{GTIN14}10X1730063010Y17300701")
    assert (two_lots.lot, two_lots.expiry) == ("X1730063010Y", date(2030, 7, 1))


def test_datamatrix_without_expiry_warns() -> None:
    scan = parse_scan(f"01{GTIN14}10LOT1")
    assert scan.expiry is None
    assert any("No expiry" in w for w in scan.warnings)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "hello",
        f"01{GTIN14[:-1]}{(int(GTIN14[-1]) + 1) % 10}17301231",  # wrong GTIN check digit
        "17301231" + "10LOT",  # no GTIN
        f"01{GTIN14}1730123117301230",  # two different expiries
        UPC_A[:-1] + str((int(UPC_A[-1]) + 1) % 10),  # UPC with a wrong check digit
        "12345-67-890",  # not an NDC shape
    ],
)
def test_unreadable_scans(raw: str) -> None:
    with violation("unreadable_scan"):
        parse_scan(raw)


# ---- linear barcodes and NDC --------------------------------------------------------------------
def test_upc_a_and_ean_13_and_gtin_14_give_the_same_product() -> None:
    for raw in (UPC_A, "0" + UPC_A, GTIN14):
        scan = parse_scan(raw)
        assert (scan.gtin, scan.ndc10, scan.ndc) == (GTIN14, NDC10, None)


def test_non_drug_gtin_has_no_ndc() -> None:
    ean = with_check_digit("590123412345")
    scan = parse_scan(ean)
    assert scan.gtin == "0" + ean
    assert scan.ndc10 is None


@pytest.mark.parametrize(
    ("raw", "ndc11", "ndc10"),
    [
        ("1234-5678-90", "01234567890", "1234567890"),  # 4-4-2
        ("12345-678-90", "12345067890", "1234567890"),  # 5-3-2
        ("12345-6789-0", "12345678900", "1234567890"),  # 5-4-1
        ("12345-6789-01", "12345678901", None),  # 5-4-2 (11 digits)
        ("12345678901", "12345678901", None),  # 11 plain digits
        ("1234567890", None, "1234567890"),  # 10 plain digits: segmentation unknown
        ("NDC 12345-678-90", "12345067890", "1234567890"),
        (" ndc: 1234-5678-90 ", "01234567890", "1234567890"),
    ],
)
def test_ndc_forms(raw: str, ndc11: str | None, ndc10: str | None) -> None:
    scan = parse_scan(raw)
    assert (scan.ndc, scan.ndc10, scan.gtin) == (ndc11, ndc10, None)
    assert normalize_ndc(raw.upper().replace("NDC", "").strip(" :")) == (ndc11, ndc10)


def test_ndcs_match_rules() -> None:
    from mar_desktop.clinical.barcodes import ndcs_match

    assert ndcs_match(("12345067890", "1234567890"), ("12345067890", None))
    assert not ndcs_match(("12345067890", "1234567890"), ("12345678900", "1234567890"))
    assert ndcs_match((None, "1234567890"), ("12345678900", None))
    assert ndcs_match(("01234567890", None), (None, "1234567890"))
    assert not ndcs_match((None, "1234567890"), ("12345678901", None))
    assert not ndcs_match((None, None), ("12345678901", None))


def test_ndc10_candidates() -> None:
    assert ndc10_to_ndc11_candidates("1234567890") == {
        "01234567890",
        "12345067890",
        "12345678900",
    }


# ---- matching -----------------------------------------------------------------------------------
NOW = local(NY, 2030, 6, 15, 9)


def test_match_by_gtin_any_length_in_order() -> None:
    for listed in (GTIN14, UPC_A, "0" + UPC_A):
        check_medication_scan(parse_scan(UPC_A), order(gtins=(listed,)), now=NOW, zone=NY)


@pytest.mark.parametrize("listed", ["50428-029-41", "50428-0029-41", "50428002941", "5042802941"])
def test_gtin_scan_matches_order_listing_the_ndc(listed: str) -> None:
    scan = parse_scan(f"01{GTIN14}17301231{GS}10L1")
    check_medication_scan(scan, order(ndcs=(listed,)), now=NOW, zone=NY)


@pytest.mark.parametrize("raw", ["50428-029-41", "50428-0029-41", "50428002941", "5042802941"])
def test_ndc_scan_matches_order_listing_gtin_or_ndc(raw: str) -> None:
    scan = parse_scan(raw)
    check_medication_scan(scan, order(gtins=(GTIN14,)), now=NOW, zone=NY)
    check_medication_scan(scan, order(ndcs=("50428-029-41",)), now=NOW, zone=NY)


def test_wrong_medication_refused() -> None:
    scan = parse_scan(f"01{OTHER_GTIN14}17301231")
    with violation("wrong_medication"):
        check_medication_scan(
            scan, order(gtins=(GTIN14,), ndcs=("50428-029-41",)), now=NOW, zone=NY
        )
    # Same digits, different segmentation: a different product.
    with violation("wrong_medication"):
        check_medication_scan(
            parse_scan("50428-0294-1"), order(ndcs=("50428-029-41",)), now=NOW, zone=NY
        )


def test_order_without_codes_cannot_be_checked() -> None:
    with violation("no_product_codes"):
        check_medication_scan(parse_scan(UPC_A), order(), now=NOW, zone=NY)


def test_expired_lot_refused_by_facility_local_date() -> None:
    the_order = order(gtins=(GTIN14,))
    scan = parse_scan(f"01{GTIN14}17300614{GS}10L1")  # expires 14 June 2030
    with violation("expired"):
        check_medication_scan(scan, the_order, now=NOW, zone=NY)
    # On the expiry day itself it is still usable, up to local midnight.
    check_medication_scan(scan, the_order, now=local(NY, 2030, 6, 14, 23, 59), zone=NY)
    # 15 June 02:00 UTC is still 14 June in New York.
    check_medication_scan(scan, the_order, now=local(NY, 2030, 6, 14, 22), zone=NY)
    with violation("expired"):
        check_medication_scan(scan, the_order, now=local(NY, 2030, 6, 15, 0, 0), zone=NY)


def test_wrong_medication_reported_before_expiry() -> None:
    scan = parse_scan(f"01{OTHER_GTIN14}17200101")
    with violation("wrong_medication"):
        check_medication_scan(scan, order(gtins=(GTIN14,)), now=NOW, zone=NY)


# ---- wristband ----------------------------------------------------------------------------------
def test_wristband_match() -> None:
    the_resident = resident(wristband_id="WB-000123")
    check_wristband("WB-000123", the_resident)
    check_wristband("  WB-000123\r\n", the_resident)
    check_wristband("]C0WB-000123", the_resident)


@pytest.mark.parametrize("scanned", ["WB-000124", "wb-000123", "WB-0001234", UPC_A])
def test_wrong_resident(scanned: str) -> None:
    with violation("wrong_resident"):
        check_wristband(scanned, resident(wristband_id="WB-000123"))


def test_empty_wristband_scan_unreadable() -> None:
    with violation("unreadable_scan"):
        check_wristband(" \r\n", resident())
