"""Fixtures for the clinical unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mar_desktop.clinical import allergies, barcodes, schedule, windows

_CACHED_MODULES = (allergies, barcodes, schedule, windows)


def _cache_clearers() -> list[Callable[[], None]]:
    """``cache_clear`` of every ``lru_cache``d function of the clinical modules."""
    return [
        clear
        for module in _CACHED_MODULES
        for value in vars(module).values()
        if callable(clear := getattr(value, "cache_clear", None))
    ]


_CLEARERS = _cache_clearers()


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Empties the clinical modules' caches (``parse_scan``, the schedule and window helpers,
    allergy text) around every test, so each test computes its answers anew.

    Without it an answer computed by an earlier test in the same process comes from the cache
    and a changed helper goes unseen: mutation testing (``make mutate``) forks its workers from
    a process whose caches are already full.
    """
    for clear in _CLEARERS:
        clear()
    yield
    for clear in _CLEARERS:
        clear()
