"""Fixtures for the clinical unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mar_desktop.clinical.barcodes import parse_scan


@pytest.fixture(autouse=True)
def _fresh_scan_cache() -> Iterator[None]:
    """Empties ``parse_scan``'s cache around every test, so each test parses its scans anew.

    Without it a scan parsed by an earlier test in the same process is answered from the cache
    and a changed parser goes unseen: mutation testing (``make mutate``) forks its workers from
    a process whose cache is already full.
    """
    parse_scan.cache_clear()
    yield
    parse_scan.cache_clear()
