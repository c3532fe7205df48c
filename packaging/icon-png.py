"""Renders the SVG app icon to a square PNG (the hicolor theme wants a 256 px one too).

Usage: python packaging/icon-png.py ICON.svg OUTPUT.png SIZE
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer


def main() -> int:
    source, output, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    app = QGuiApplication([])  # noqa: F841 - QPainter wants an application for fonts
    renderer = QSvgRenderer(source)
    if not renderer.isValid():
        print(f"icon-png: {source} is not a valid SVG", file=sys.stderr)
        return 1
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return 0 if image.save(output, "PNG") else 1


if __name__ == "__main__":
    sys.exit(main())
