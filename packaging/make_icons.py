"""Renders ``resources/icons/mar-desktop.svg`` to the PNG sizes, the Windows ``.ico`` and the
macOS ``.icns`` that packaging uses. Run by hand after changing the SVG (outputs are committed):

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py

Needs PySide6 (QtSvg, part of PySide6-Essentials) and Pillow (for .ico/.icns).
"""

from __future__ import annotations

from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> None:
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(ICONS / "mar-desktop.svg"))
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"mar-desktop-{size}.png"))
    big = Image.open(ICONS / "mar-desktop-512.png")
    big.save(ICONS / "mar-desktop.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    big.save(ICONS / "mar-desktop.icns")
    del app


if __name__ == "__main__":
    main()
