"""Behind a load balancer: ``X-Forwarded-For`` names the client only when the connection comes
from a configured trusted proxy, and ``/metrics`` then always needs its token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync.server import config
from sync.server.app import create_app
from sync.server.cli import main
from sync.server.core import ServerCore
from sync.server.runner import start_thread_server
from tests.sync.server.ops.conftest import METRICS_TOKEN

TABLET = "203.0.113.7"
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def core(tmp_path: Path) -> Iterator[ServerCore]:
    store = config.open_store(str(tmp_path / "s.sqlite3"))
    store.migrate()
    yield ServerCore(store, config.create_server_key(tmp_path / "data"))
    store.close()


def _metrics(core: ServerCore, proxies: tuple[str, ...], headers: dict[str, str]) -> int:
    """Status of a scrape sent from 127.0.0.1 with ``headers``, to a server trusting
    ``proxies``; only clients in 203.0.113.0/24 may read the metrics."""
    app = create_app(core, behind_proxy=bool(proxies))
    served = start_thread_server(app, ssl_context=None, trusted_proxies=proxies)
    try:
        return httpx.get(f"{served.url}/metrics", headers=headers, timeout=10).status_code
    finally:
        served.stop()


def test_the_forwarded_client_counts_only_from_a_trusted_proxy(
    core: ServerCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAR_METRICS_ALLOW", "203.0.113.0/24")
    forwarded = {**BEARER, "X-Forwarded-For": TABLET}
    assert _metrics(core, ("127.0.0.1/32",), forwarded) == 200  # the tablet's address is seen
    assert _metrics(core, ("10.9.9.9/32",), forwarded) == 403  # 127.0.0.1 is no proxy: ignored
    assert _metrics(core, (), forwarded) == 403  # no proxy configured: the peer counts


def test_behind_a_proxy_metrics_always_need_the_token(
    core: ServerCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback = {"X-Forwarded-For": "127.0.0.1"}
    assert _metrics(core, ("127.0.0.1/32",), loopback) == 401  # loopback, yet no token
    monkeypatch.delenv("MAR_METRICS_TOKEN")
    assert _metrics(core, (), {}) == 200  # no proxy: loopback may scrape without a token
    assert _metrics(core, ("127.0.0.1/32",), loopback) == 403  # proxy and no token set: none
    assert _metrics(core, ("127.0.0.1/32",), {**loopback, **BEARER}) == 403


def test_trusted_proxies_come_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAR_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16")
    assert config.trusted_proxies() == ("10.0.0.5/32", "10.1.0.0/16")
    assert config.trusted_proxies(["127.0.0.1", "::1,192.0.2.1"]) == (
        "127.0.0.1/32",
        "::1/128",
        "192.0.2.1/32",
    )
    monkeypatch.delenv("MAR_TRUSTED_PROXIES")
    assert config.trusted_proxies() == ()
    for bad in ("0.0.0.0/0", "::/0", "not-an-address"):
        with pytest.raises(ValueError):
            config.trusted_proxies([bad])


def test_serve_refuses_a_proxy_setting_that_trusts_everyone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data", str(tmp_path), "serve", "--insecure-http-loopback"]
    assert main([*argv, "--trusted-proxy", "0.0.0.0/0"]) != 0
    assert "would trust every address" in capsys.readouterr().err
