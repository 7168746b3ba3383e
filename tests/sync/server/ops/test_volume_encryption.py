"""``mar-server serve`` warns when the database volume is not encrypted (issue 22 item 4): the
block device under a SQLite file is read from a /sys tree (a fake one here, shaped like the
kernel's), PostgreSQL is "cannot tell" with a pointer to the docs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sync.server import volume
from sync.server.cli import start_warnings
from tests.sync.server.conftest import Server


def fake_sys(root: Path, db_folder: Path, *, uuid: str | None, slaves: dict[str, str]) -> Path:
    """A /sys tree where ``db_folder``'s device has ``dm/uuid`` ``uuid`` (None: not a dm
    device) and the given slaves (name -> their dm uuid)."""
    dev = os.stat(db_folder).st_dev
    block = root / "dev" / "block" / f"{os.major(dev)}:{os.minor(dev)}"
    block.mkdir(parents=True)
    if uuid is not None:
        (block / "dm").mkdir()
        (block / "dm" / "uuid").write_text(uuid + "\n")
    if slaves:
        (block / "slaves").mkdir()
    for name, slave_uuid in slaves.items():
        (block / "slaves" / name).mkdir()
        target = root / "class" / "block" / name
        (target / "dm").mkdir(parents=True)
        (target / "dm" / "uuid").write_text(slave_uuid + "\n")
    return root


@pytest.mark.parametrize(
    ("uuid", "slaves", "state"),
    [
        ("CRYPT-LUKS2-0123456789abcdef-data", {}, "encrypted"),
        ("LVM-abcdef", {"dm-0": "CRYPT-LUKS2-0123-pv"}, "encrypted"),  # LVM on LUKS
        ("LVM-abcdef", {"dm-0": "CRYPT-LUKS2-0123-pv", "sdb1": ""}, "not_encrypted"),
        (None, {}, "not_encrypted"),  # a plain partition
    ],
)
def test_the_volume_under_a_sqlite_file_is_read_from_sys(
    tmp_path: Path, uuid: str | None, slaves: dict[str, str], state: str
) -> None:
    db = tmp_path / "db" / "mar-server.sqlite3"
    db.parent.mkdir()
    sys_root = fake_sys(tmp_path / "sys", db.parent, uuid=uuid, slaves=slaves)
    found = volume.check_sqlite(db, sys_root=sys_root, proc_root=tmp_path / "proc")
    assert found.state == state
    if state == "encrypted":
        assert found.warning is None
    else:
        assert found.warning is not None
        assert "NOT on an encrypted" in found.warning
        assert "Encrypting the database volume" in found.warning


def test_a_device_that_is_not_found_cannot_be_told(tmp_path: Path) -> None:
    found = volume.check_sqlite(
        tmp_path / "x.sqlite3", sys_root=tmp_path / "empty", proc_root=tmp_path / "proc"
    )
    assert found.state == "unknown"
    assert found.warning is not None and "cannot tell" in found.warning


def test_a_filesystem_without_its_own_device_is_found_from_mountinfo(tmp_path: Path) -> None:
    proc = tmp_path / "proc" / "self"
    proc.mkdir(parents=True)
    (proc / "mountinfo").write_text(
        "27 1 0:30 / / rw - overlay overlay rw\n"
        "31 27 253:2 / /var/lib/mar-server rw,relatime - btrfs /dev/mapper/data rw\n"
        "32 27 8:1 / /var/lib/other rw - ext4 /dev/sda1 rw\n"
    )
    found = volume._mount_source(Path("/var/lib/mar-server/db"), tmp_path / "proc")
    assert found == ("253:2", "btrfs")
    assert volume._mount_source(Path("/srv/x"), tmp_path / "proc") == ("0:30", "overlay")


def test_postgres_cannot_be_told_and_points_to_the_docs() -> None:
    found = volume.check("postgresql://mar@db.example/mar")
    assert found.state == "unknown"
    assert found.warning is not None
    assert "cannot tell" in found.warning and "server-operations.md" in found.warning


def test_serve_warns_at_start_about_the_volume_and_a_derived_secrets_key(
    server: Server, store_url: str
) -> None:
    warnings = start_warnings(server.core, store_url)
    assert any("encrypted" in w for w in warnings)  # a test folder is no LUKS volume
    assert any("MAR_SECRETS_KEY_FILE" in w for w in warnings)
