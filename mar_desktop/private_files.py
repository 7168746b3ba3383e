"""Files that hold PHI (printouts, exports, FHIR bundles) are the owner's alone: created 0600,
their folders 0700, whatever the process umask, and an existing file written over is narrowed
to 0600 first. Call :func:`private_file` on a path before writing it (reportlab and the csv
module then open it as usual: truncating keeps the mode), :func:`write_private` to write bytes,
:func:`private_dir` for a folder the export creates. Worker thread (file I/O). Raises OSError.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_file(path: Path) -> Path:
    """Creates ``path`` empty with mode 0600 if absent, else narrows it to 0600; returns it.
    A symbolic link is refused (OSError), so a planted link cannot redirect PHI."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` (replacing what was there) as a 0600 file."""
    private_file(path)
    with path.open("r+b") as handle:
        handle.truncate(0)
        handle.write(data)


def private_dir(path: Path) -> Path:
    """Creates the folder ``path`` and its missing parents, each 0700 whatever the umask (a
    parent that already existed keeps its mode), and makes ``path`` itself 0700."""
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(folder, DIR_MODE)
    path.mkdir(mode=DIR_MODE, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path
