"""Whether the server database sits on an encrypted volume, as far as the server can tell.

The credential secrets are sealed by the server itself (:mod:`sync.server.secrets_at_rest`);
the rest of the PHI (the signed entries) is protected at rest by the volume the database lives
on: LUKS/dm-crypt for a SQLite file, the managed service's storage encryption for PostgreSQL
(docs/server-operations.md, "Encrypting the database volume").

For a SQLite file the block device holding it is found from the file's device number (or, for a
filesystem without one of its own — btrfs, overlay — from ``/proc/self/mountinfo``), then
``/sys/dev/block/MAJ:MIN``: a device-mapper device whose ``dm/uuid`` starts with ``CRYPT-`` is
dm-crypt (LUKS or plain); one stacked on others (LVM) is encrypted when every device under it
(``slaves/``) is. A partition or disk with no dm-crypt under it is not. A network or memory
filesystem, or anything not found, cannot be told. For PostgreSQL the server cannot tell.

Threads: any (reads /proc and /sys only; never raises for what it cannot read).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DOCS = "docs/server-operations.md, section \"Encrypting the database volume\""

State = Literal["encrypted", "not_encrypted", "unknown"]


@dataclass(frozen=True, slots=True)
class VolumeCheck:
    state: State
    detail: str

    @property
    def warning(self) -> str | None:
        """The line to warn with at start (None when the volume is encrypted)."""
        if self.state == "encrypted":
            return None
        return f"{self.detail}; see {DOCS}"


def _dm_encrypted(block: Path, sys_root: Path, depth: int = 0) -> bool:
    """True when the block device at ``block`` (a /sys/dev/block or /sys/class/block entry) is
    dm-crypt, or a device-mapper device every one of whose underlying devices is."""
    if depth > 8:
        return False
    try:
        uuid = (block / "dm" / "uuid").read_text().strip()
    except OSError:
        uuid = ""
    if uuid.startswith("CRYPT-"):
        return True
    try:
        slaves = sorted((block / "slaves").iterdir())
    except OSError:
        slaves = []
    if not slaves:
        return False
    return all(
        _dm_encrypted(sys_root / "class" / "block" / s.name, sys_root, depth + 1) for s in slaves
    )


def _mount_source(path: Path, proc_root: Path) -> tuple[str, str] | None:
    """``(major:minor, fstype)`` of the mount holding ``path`` (longest mount point)."""
    try:
        lines = (proc_root / "self" / "mountinfo").read_text().splitlines()
    except OSError:
        return None
    best: tuple[int, str, str] | None = None
    target = str(path)
    for line in lines:
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > best[0]):
            fstype = line.split(" - ", 1)[1].split()[0]
            best = (len(point), fields[2], fstype)
    return None if best is None else (best[1], best[2])


def check_sqlite(
    db_path: Path, *, sys_root: Path = Path("/sys"), proc_root: Path = Path("/proc")
) -> VolumeCheck:
    """Whether the folder of the SQLite file ``db_path`` is on a dm-crypt volume."""
    folder = db_path.resolve().parent
    try:
        dev = os.stat(folder).st_dev
    except OSError:
        return VolumeCheck("unknown", f"cannot tell whether {folder} is on an encrypted volume")
    number = f"{os.major(dev)}:{os.minor(dev)}"
    fstype = ""
    if os.major(dev) == 0:  # no block device of its own (btrfs, overlay, tmpfs, NFS...)
        found = _mount_source(folder, proc_root)
        if found is not None:
            number, fstype = found
    block = sys_root / "dev" / "block" / number
    if not block.exists():
        what = f" ({fstype})" if fstype else ""
        return VolumeCheck(
            "unknown",
            f"cannot tell whether the database folder {folder}{what} is on an encrypted volume",
        )
    if _dm_encrypted(block, sys_root):
        return VolumeCheck("encrypted", f"the database folder {folder} is on a dm-crypt volume")
    return VolumeCheck(
        "not_encrypted",
        f"the database folder {folder} is NOT on an encrypted (dm-crypt/LUKS) volume: the PHI in "
        "the database is readable from the disk",
    )


def check(db_url: str) -> VolumeCheck:
    """The check for the server database ``db_url`` (a SQLite path or a PostgreSQL DSN)."""
    if db_url.startswith(("postgresql://", "postgres://")):
        return VolumeCheck(
            "unknown",
            "the server cannot tell whether PostgreSQL's storage is encrypted: make sure it is "
            "(managed storage encryption, or LUKS on the database host)",
        )
    path = db_url.removeprefix("sqlite:")
    return check_sqlite(Path(path[2:] if path.startswith("//") else path))
