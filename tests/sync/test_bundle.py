"""Export-pending bundles: written by the tablet, taken in by ``mar-server import-bundle`` with
the checks and idempotence of online push; any changed byte or a foreign bundle is refused."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mar_desktop.signing import DeviceSigner
from storage.local_store import LocalStore
from storage.sync_state import SyncState, acked_cursor
from sync import enroll as enroll_module
from sync import protocol as p
from sync.bundle import export_pending
from sync.bundle_format import (
    BundleError,
    read_bundle,
    seal,
    x25519_private_from_ed25519,
    x25519_public_from_ed25519,
)
from sync.server import cli as server_cli
from sync.server import config
from sync.server.bundle_import import import_bundle
from sync.server.core import ServerCore
from sync.server.verify import verify_store as verify_server
from tests import factories as f


class _DirectClient:
    """Stands in for the HTTPS client during enrolment: calls the server core directly."""

    core: ServerCore

    def __init__(self, *_: Any, **__: Any) -> None:
        pass

    def __enter__(self) -> _DirectClient:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def enroll(self, code: str, public_key: str, label: str) -> p.EnrollResponse:
        done = self.core.enroll(code, public_key, label)
        server_device = self.core.store.server_device(done.facility_id)
        assert server_device is not None
        return p.EnrollResponse(
            device_id=done.device_id,
            facility_id=done.facility_id,
            server_id=self.core.server_id,
            server_device_id=server_device.device_id,
            server_public_key=self.core.public_key,
        )


@dataclass
class World:
    core: ServerCore
    facility_id: str
    other_facility_id: str
    tablet: LocalStore
    server_data: Path
    tmp: Path

    def record(self, n: int) -> None:
        for i in range(n):
            self.tablet.ledger.append([
                f.administration(f"res-{i % 3}", f"ord-{i % 4}", scheduled_for=None),
                f.audit("administration", entity_type="administration"),
            ])

    def export(self, name: str = "pending.marbundle") -> Path:
        out = self.tmp / name
        result = export_pending(self.tablet, out)
        assert result is not None
        return out

    def server_entries(self) -> list[tuple[str, int, str]]:
        rows = []
        for chain in ("ledger", "audit"):
            rows += [
                (e.chain, e.seq, e.digest)
                for e in self.core.store.entries_of(self.tablet.device_id, chain)  # type: ignore[arg-type]
            ]
        return rows

    def tablet_heads(self) -> dict[str, int]:
        state = SyncState(self.tablet.connect_reader)
        try:
            return {c: state.head(self.tablet.device_id, c)[0] for c in ("ledger", "audit")}  # type: ignore[arg-type]
        finally:
            state.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    server_data = tmp_path / "server"
    signer = config.create_server_key(server_data)
    store = config.open_store(config.db_url(server_data))
    store.migrate()
    core = ServerCore(store, signer)
    facility_id, _ = core.create_facility("Maple House", "UTC")
    other_facility_id, _ = core.create_facility("Oak Lodge", "UTC")
    _DirectClient.core = core
    monkeypatch.setattr(enroll_module, "ServerClient", _DirectClient)
    tablet = enroll_module.enroll(
        tmp_path / "tablet", secrets.token_bytes(32), server_url="https://mar.example",
        code=core.make_enrol_code(facility_id), label="cart 1",
    )
    try:
        yield World(core, facility_id, other_facility_id, tablet, server_data, tmp_path)
    finally:
        tablet.close()
        store.close()


def test_x25519_mapping_of_the_server_key_matches_its_private_half() -> None:
    from cryptography.hazmat.primitives import serialization

    for _ in range(20):
        signer = DeviceSigner.generate()
        private = x25519_private_from_ed25519(signer)
        expected = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        assert x25519_public_from_ed25519(bytes.fromhex(signer.public_hex)) == expected


def test_bundle_imported_twice_stores_its_entries_once(world: World) -> None:
    world.record(12)
    bundle = world.export()
    assert bundle.stat().st_mode & 0o077 == 0  # 0600: it holds PHI (encrypted)
    offered = sum(world.tablet_heads().values())  # never synced: everything is pending

    first = import_bundle(world.core, bundle.read_bytes(), world.facility_id)
    assert first.ok, first.summary()
    assert (first.offered, first.stored, first.duplicates) == (offered, offered, 0)
    held = world.server_entries()
    assert len(held) == offered
    heads = world.core.store.heads(world.tablet.device_id)
    assert {c: h.seq for c, h in heads.items()} == world.tablet_heads()
    # the export itself is audited, and that audit entry travelled in the bundle
    kinds = [e.kind for e in world.core.store.entries_of(world.tablet.device_id, "audit")]
    assert kinds[-1] == "audit.exported"

    second = import_bundle(world.core, bundle.read_bytes(), world.facility_id)
    assert second.ok
    assert (second.stored, second.duplicates) == (0, offered)
    assert world.server_entries() == held
    assert verify_server(world.core.store).ok


def test_only_unacknowledged_entries_are_exported(world: World) -> None:
    world.record(3)
    first = import_bundle(world.core, world.export("one").read_bytes(), world.facility_id)
    assert first.ok
    state = SyncState(world.tablet.connect_reader)
    try:  # what the sync engine records after the server's receipt
        for chain, seq in world.tablet_heads().items():
            state.set_cursor(acked_cursor(chain), seq)  # type: ignore[arg-type]
    finally:
        state.close()
    assert export_pending(world.tablet, world.tmp / "none") is None
    assert not (world.tmp / "none").exists()

    world.record(2)
    data = world.export("two").read_bytes()
    assert read_bundle(data).header.counts == {"ledger": 2, "audit": 3}  # + audit.exported
    second = import_bundle(world.core, data, world.facility_id)
    assert second.ok and (second.stored, second.duplicates) == (5, 0)
    assert len(world.server_entries()) == sum(world.tablet_heads().values())


def test_any_changed_byte_is_refused_and_nothing_is_stored(world: World) -> None:
    world.record(4)
    data = world.export().read_bytes()
    variants = [data[:i] + bytes([data[i] ^ (1 << (i % 8))]) + data[i + 1 :]
                for i in range(len(data))]
    variants += [data[:-1], data + b"\x00", data[:40], b"", data[64:]]
    for bad in variants:
        with pytest.raises(BundleError):
            import_bundle(world.core, bad, world.facility_id)
    assert world.server_entries() == []
    assert import_bundle(world.core, data, world.facility_id).ok  # the original still imports


def test_bundle_for_another_facility_or_server_is_refused(world: World, tmp_path: Path) -> None:
    world.record(2)
    data = world.export().read_bytes()
    with pytest.raises(BundleError, match="another facility"):
        import_bundle(world.core, data, world.other_facility_id)

    # Correctly signed by the tablet but encrypted to some other server's key.
    conn = world.tablet.connect_reader()
    try:
        from storage.ledger import load_identity

        identity = load_identity(conn)
    finally:
        conn.close()
    stranger = DeviceSigner.generate()
    foreign = seal(
        {"ledger": [], "audit": []}, facility_id=world.facility_id,
        device_id=identity.device_id, signer=identity.signer, server_id=world.core.server_id,
        server_public_key=stranger.public_hex, created_at="2026-01-05T08:00:00Z",
    )
    with pytest.raises(BundleError, match="another server"):
        import_bundle(world.core, foreign, world.facility_id)
    assert world.server_entries() == []


def test_revoked_device_bundle_is_refused(world: World) -> None:
    world.record(1)
    data = world.export().read_bytes()
    world.core.revoke(world.tablet.device_id)
    with pytest.raises(BundleError, match="revoked"):
        import_bundle(world.core, data, world.facility_id)
    assert world.server_entries() == []


def test_mar_server_import_bundle_command(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.record(2)
    bundle = world.export()
    args = ["--data", str(world.server_data), "import-bundle", str(bundle),
            "--facility", world.facility_id]
    assert server_cli.main(args) == 0
    assert "stored" in capsys.readouterr().out
    count = len(world.server_entries())
    assert server_cli.main(args) == 0
    assert f"{count} already held" in capsys.readouterr().out
    data = bundle.read_bytes()
    bundle.write_bytes(data[:-1] + bytes([data[-1] ^ 0x01]))  # always a real change
    assert server_cli.main(args) == 2  # refused: ValidationError's exit status
    assert "signature" in capsys.readouterr().err
    assert len(world.server_entries()) == count
