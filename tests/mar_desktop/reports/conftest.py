"""Fixtures for the report tests: one seeded report world per test module (per xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mar_desktop.reports.world import ReportWorld, build_report_world


@pytest.fixture(scope="module")
def rw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportWorld]:
    built = build_report_world(tmp_path_factory.mktemp("reportworld"))
    yield built
    built.world.store.close()
