"""Server-operations fixtures. The server suite's fixtures are reused, not copied: every test
asking for ``store_url``/``server`` runs on SQLite AND PostgreSQL (PostgreSQL skips with a reason
when unreachable, but fails when ``CI`` is set — see ``tests/sync/server/conftest.py``).

``/metrics`` is guarded by a bearer token here (the TestClient's peer is not a loopback
address, so the default loopback-only rule would refuse every scrape).
"""

from __future__ import annotations

import pytest

from tests.sync.server.conftest import clock, server, store_url

__all__ = ["METRICS_TOKEN", "clock", "server", "store_url"]

METRICS_TOKEN = "test-metrics-token-0123456789"


@pytest.fixture(autouse=True)
def _metrics_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAR_METRICS_TOKEN", METRICS_TOKEN)
    monkeypatch.delenv("MAR_METRICS_ALLOW", raising=False)
