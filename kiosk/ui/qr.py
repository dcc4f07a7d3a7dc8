"""Draw a QR code as a QPixmap, with no image library and no network."""

from __future__ import annotations

import qrcode
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap


def qr_pixmap(data: str, size: int) -> QPixmap:
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    cell = max(1, size // len(matrix))
    side = cell * len(matrix)
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.white)
    painter = QPainter(pixmap)
    black = QColor("black")
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                painter.fillRect(QRect(x * cell, y * cell, cell, cell), black)
    painter.end()
    return pixmap
