"""Files holding PHI are created 0600 and folders 0700 whatever the umask; an existing file is
narrowed; a planted symbolic link is refused. Exports, printouts and FHIR bundles use them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mar_desktop.private_files import private_dir, private_file, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def test_files_and_folders_are_private_even_with_an_open_umask(
    tmp_path: Path, open_umask: None
) -> None:
    folder = private_dir(tmp_path / "export" / "inner")
    assert mode(folder) == 0o700
    target = folder / "entries.csv"
    write_private(target, b"phi")
    assert mode(target) == 0o600 and target.read_bytes() == b"phi"
    write_private(target, b"x")
    assert target.read_bytes() == b"x"


def test_an_existing_file_is_narrowed_and_a_link_is_refused(tmp_path: Path) -> None:
    wide = tmp_path / "wide.pdf"
    wide.write_bytes(b"old")
    wide.chmod(0o644)
    private_file(wide)
    assert mode(wide) == 0o600 and wide.read_bytes() == b"old"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"")
    link = tmp_path / "link.pdf"
    link.symlink_to(elsewhere)
    with pytest.raises(OSError):
        private_file(link)
