from __future__ import annotations

from tests.sync.conftest import Site


def test_enrol_and_bootstrap(site: Site) -> None:
    a = site.tablet("a")
    report = a.engine.sync_once()
    print(report)
    fac = a.store.reader().facility()
    assert fac is not None and fac.facility_id == site.facility_id
    assert a.engine.pending() == 0
