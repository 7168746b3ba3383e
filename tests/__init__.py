"""Test suite of MAR Desktop (a package so `tests.factories` imports unambiguously)."""
