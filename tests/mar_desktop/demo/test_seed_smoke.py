from __future__ import annotations

from pathlib import Path

from tests.facility import make_world


def test_seed_two_days_records_history_through_services(tmp_path: Path) -> None:
    world = make_world(tmp_path, days=2, residents_per_unit=3)
    try:
        stats = world.seeded.history
        assert stats.recorded > 50
        assert stats.by_outcome.get("given", 0) > stats.recorded // 2
        read = world.ports.reader()
        assert len(read.residents()) == 6
        assert read.facility() is not None
    finally:
        world.store.close()
