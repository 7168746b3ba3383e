"""Property-based requests generated from the published OpenAPI spec never cause a 5xx.

Runs on SQLite (the request handling is store-independent; the store-specific paths are covered
by the parametrised suite, and ``test_hostile_api`` drives every endpoint with hostile values on
both stores). Examples are bounded to keep the suite fast.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from sync.server import config
from sync.server.app import create_app
from sync.server.core import ServerCore
from sync.server.simtablet import SimTablet

_STATE: dict[str, str] = {}


def _app() -> object:
    tmp = Path(tempfile.mkdtemp(prefix="mar-schemathesis-"))
    store = config.open_store(str(tmp / "s.sqlite3"))
    store.migrate()
    core = ServerCore(store, config.create_server_key(tmp / "data"))
    facility_id, _ = core.create_facility("Maple House", "UTC")
    app = create_app(core)
    client = TestClient(app, base_url="https://testserver")
    tab = SimTablet(client)
    tab.enroll(core.make_enrol_code(facility_id))
    tab.authenticate()
    assert tab.push(tab.make(3)).status_code == 200
    _STATE["auth"] = f"Bearer {tab.token}"
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": _STATE["auth"]})
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500
    assert "max-age" in response.headers.get("strict-transport-security", [""])[0]
