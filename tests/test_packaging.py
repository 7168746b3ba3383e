"""Packaging: the PyInstaller spec builds an app that starts (so the spec cannot rot).

The slow test builds the one-folder app into ``tmp_path`` (PyInstaller's cache too, through
``PYINSTALLER_CONFIG_DIR``), then runs the built executable with ``--version`` and with the
hidden ``--self-test-gui`` check (offscreen GUI on the throwaway demo facility, exits 0 once the
login window is shown and the encrypted database is open).
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mar_desktop import __version__

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
ICONS = REPO / "resources" / "icons"
READY = "self-test: login window ready"


def test_packaging_folder_does_not_shadow_the_packaging_library() -> None:
    assert not (PACKAGING / "__init__.py").exists()
    import packaging.version  # the PyPI library pip and pytest use

    assert Path(packaging.version.__file__).resolve().parent != PACKAGING.resolve()


def test_desktop_entry_and_icons() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(PACKAGING / "mar-desktop.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"].split()[0] == "mar-desktop"
    assert section["Terminal"] == "false"
    assert section["Categories"].endswith(";")
    icon = section["Icon"]
    assert (ICONS / f"{icon}.svg").is_file()
    for size in (16, 32, 48, 64, 128, 256, 512):
        png = ICONS / f"{icon}-{size}.png"
        header = png.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(header[16:20], "big") == size  # IHDR width
    assert (ICONS / f"{icon}.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"
    assert (ICONS / f"{icon}.icns").read_bytes()[:4] == b"icns"


def test_spec_reads_the_version_from_the_one_place() -> None:
    spec = (PACKAGING / "mar-desktop.spec").read_text(encoding="utf-8")
    assert "from mar_desktop import __version__" in spec
    assert __version__ not in spec  # never repeated by hand


def test_entry_script_delegates_to_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "mar_desktop_main.py"), "--version"],
        check=False, capture_output=True, text=True, timeout=120, cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"mar-desktop {__version__}"


@pytest.mark.slow
def test_built_app_starts(tmp_path: Path) -> None:
    pyinstaller = Path(sys.executable).with_name("pyinstaller")
    if not pyinstaller.exists():
        found = shutil.which("pyinstaller")
        assert found, "pyinstaller is in the dev extra: pip install -e '.[dev]'"
        pyinstaller = Path(found)
    env = dict(os.environ, PYINSTALLER_CONFIG_DIR=str(tmp_path / "cache"))
    build = subprocess.run(
        [str(pyinstaller), "--noconfirm", "--log-level", "WARN",
         "--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build"),
         str(PACKAGING / "mar-desktop.spec")],
        check=False, capture_output=True, text=True, timeout=900, cwd=REPO, env=env,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    app_dir = tmp_path / "dist" / "mar-desktop"
    exe = app_dir / ("mar-desktop.exe" if sys.platform == "win32" else "mar-desktop")
    assert exe.is_file()

    # What is bundled: the data the code reads at run time; not the server or unused Qt.
    internal = app_dir / "_internal"
    assert sorted(p.name for p in (internal / "storage" / "migrations").glob("*.sql")) == sorted(
        p.name for p in (REPO / "storage" / "migrations").glob("*.sql")
    )
    assert (internal / "resources" / "style.qss").is_file()
    assert not list(internal.glob("PySide6/QtNetwork*"))
    assert not list(internal.glob("PySide6/QtQml*"))
    assert not (internal / "fastapi").exists()

    run_env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run_env.pop("PYTHONPATH", None)
    version = subprocess.run(
        [str(exe), "--version"],
        check=False, capture_output=True, text=True, timeout=120, env=run_env, cwd=tmp_path,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"mar-desktop {__version__}"

    started = subprocess.run(
        [str(exe), "--self-test-gui", "--timeout", "240"],
        check=False, capture_output=True, text=True, timeout=300, env=run_env, cwd=tmp_path,
    )
    assert started.returncode == 0, started.stderr[-4000:]
    assert READY in started.stdout


@pytest.mark.slow
def test_wheel_carries_every_migration(tmp_path: Path) -> None:
    """``pip wheel .`` (isolated build, as a release build is) puts every numbered migration in
    the wheel: ``storage.migrate`` reads them at run time, and a wheel without them cannot
    create or open a database (``mar-desktop seed-demo``, ``verify``)."""
    source = tmp_path / "source"
    shutil.copytree(
        REPO, source, ignore=shutil.ignore_patterns(
            ".git", ".venv", ".bench-cache", "build", "dist", "*.egg-info", "__pycache__"
        ),
    )
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), "."],
        check=False, capture_output=True, text=True, timeout=600, cwd=source,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    (wheel,) = tmp_path.glob("mar_desktop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("storage/migrations/"))
    assert shipped == sorted(p.name for p in (REPO / "storage" / "migrations").glob("*.sql"))
