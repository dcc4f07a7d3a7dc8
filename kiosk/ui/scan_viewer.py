"""Scanned pages on the counter's review panel: thumbnail buttons and a full-panel viewer.

Thumbnails arrive ready-made (kiosk.review_docs.scan_pages, on the worker thread); an enlarged
page is fetched the same way when tapped, so the screen only ever decodes small JPEGs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.i18n import tr
from kiosk.review_docs import ScanPage
from kiosk.ui.theme import TOUCH_MIN

THUMB_W, THUMB_H = 170, 220  # a page-shaped button, well above the 80 px touch minimum

Loader = Callable[[str, Callable[[bytes], None], Callable[[Exception], None]], None]


def pixmap_of(data: bytes | None) -> QPixmap:
    pixmap = QPixmap()
    if data:
        pixmap.loadFromData(data)
    return pixmap


def thumb_button(page: ScanPage, lang: str) -> QPushButton:
    """A tappable thumbnail of one page; an unreadable page says so and cannot be opened."""
    button = QPushButton()
    button.setObjectName("scanThumb")
    button.setFixedSize(THUMB_W, THUMB_H)
    pixmap = pixmap_of(page.preview)
    if pixmap.isNull():
        button.setText(tr("review.scan_unreadable", lang))
        button.setEnabled(False)
    else:
        button.setIcon(QIcon(pixmap))
        button.setIconSize(QSize(THUMB_W - 16, THUMB_H - 16))
    button.setToolTip(f"{page.name(lang)} · {page.page}")
    return button


class ScanViewer(QWidget):
    """One page as large as the panel allows, with previous, next and close (all touch-sized).
    Lies over the whole panel; hidden until a thumbnail is tapped."""

    def __init__(self, parent: QWidget, load: Loader) -> None:
        super().__init__(parent)
        self.load = load
        self.lang = "zh-Hans"
        self.pages: list[ScanPage] = []
        self.index = 0
        self.setObjectName("scanViewer")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#scanViewer { background: #20242b; }"
                           " #scanCaption { color: white; font-size: 30px; }")
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 16, 24, 16)
        self.caption = QLabel()
        self.caption.setObjectName("scanCaption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        column.addWidget(self.caption)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image.setStyleSheet("color: white;")
        column.addWidget(self.image, 1)
        row = QHBoxLayout()
        self.prev_button, self.next_button, self.close_button = (QPushButton(), QPushButton(),
                                                                 QPushButton())
        for button in (self.prev_button, self.next_button, self.close_button):
            button.setMinimumSize(TOUCH_MIN * 3, TOUCH_MIN)
            row.addWidget(button)
        self.prev_button.clicked.connect(lambda: self.show_page(self.index - 1))
        self.next_button.clicked.connect(lambda: self.show_page(self.index + 1))
        self.close_button.clicked.connect(self.hide)
        column.addLayout(row)
        self._pixmap = QPixmap()
        self.hide()

    def open(self, pages: list[ScanPage], index: int, lang: str) -> None:
        self.pages, self.lang = pages, lang
        self.setGeometry(self.parentWidget().rect())
        self.show()
        self.raise_()
        self.show_page(index)

    def show_page(self, index: int) -> None:
        if not 0 <= index < len(self.pages):
            return
        self.index = index
        page = self.pages[index]
        self.caption.setText(tr("review.viewer_page", self.lang, material=page.name(self.lang),
                                page=page.page, n=index + 1, total=len(self.pages)))
        self.prev_button.setText(tr("review.viewer_prev", self.lang))
        self.next_button.setText(tr("review.viewer_next", self.lang))
        self.close_button.setText(tr("review.viewer_close", self.lang))
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index + 1 < len(self.pages))
        self._pixmap = QPixmap()
        self.image.setPixmap(QPixmap())
        self.image.setText(tr("review.viewer_loading", self.lang))
        sha = page.sha256
        self.load(sha, lambda data: self._loaded(sha, data), lambda exc: self._failed(sha))

    def _loaded(self, sha: str, data: bytes) -> None:
        if not self.pages or self.pages[self.index].sha256 != sha:
            return  # the clerk moved on while it loaded
        self._pixmap = pixmap_of(data)
        if self._pixmap.isNull():
            self._failed(sha)
            return
        self._fit()

    def _failed(self, sha: str) -> None:
        if self.pages and self.pages[self.index].sha256 == sha:
            self.image.setText(tr("review.scan_unreadable", self.lang))

    def _fit(self) -> None:
        if not self._pixmap.isNull():
            self.image.setPixmap(self._pixmap.scaled(
                self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit()
