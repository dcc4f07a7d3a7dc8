"""Home screen: large tiles for what a visitor came to do, and a search bar."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QPushButton, QSizePolicy, QVBoxLayout

from kiosk.ui.screen import Screen, title_label, wrapped

# (tile key, available). Later issues turn the others on as they land.
TILES = [
    ("tile.guides", True),
    ("tile.search", True),
    ("tile.ticket", True),
    ("tile.apply", True),
    ("tile.progress", True),
    ("tile.evaluate", True),
]


class HomeScreen(Screen):
    name_key = "screen.home"
    guides_requested = Signal()
    search_requested = Signal()
    ticket_requested = Signal()
    apply_requested = Signal()
    progress_requested = Signal()
    evaluate_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 40, 40, 40)
        layout.setSpacing(28)
        self.welcome = title_label()
        self.hint = wrapped(object_name="hint")
        layout.addWidget(self.welcome)
        layout.addWidget(self.hint)
        self.grid = QGridLayout()
        self.grid.setSpacing(28)
        layout.addLayout(self.grid, 1)
        self.tiles: dict[str, QPushButton] = {}
        for key, available in TILES:
            tile = QPushButton()
            tile.setObjectName("tile")
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            tile.setMinimumHeight(220)
            tile.setProperty("available", available)
            self.tiles[key] = tile
        self.tiles["tile.guides"].clicked.connect(self.guides_requested)
        self.tiles["tile.search"].clicked.connect(self.search_requested)
        self.tiles["tile.ticket"].clicked.connect(self.ticket_requested)
        self.tiles["tile.apply"].clicked.connect(self.apply_requested)
        self.tiles["tile.progress"].clicked.connect(self.progress_requested)
        self.tiles["tile.evaluate"].clicked.connect(self.evaluate_requested)
        for key, available in TILES:
            if not available:
                self.tiles[key].clicked.connect(self.show_coming_soon)
        self.set_columns(2)

    def set_columns(self, columns: int) -> None:
        for n, (key, _) in enumerate(TILES):
            self.grid.addWidget(self.tiles[key], n // columns, n % columns)

    def show_coming_soon(self) -> None:
        self.hint.setText(self.t("home.not_yet"))
        self.hint.setObjectName("notice")
        self.hint.setStyle(self.hint.style())

    def clear(self) -> None:
        self.hint.setObjectName("hint")
        self.hint.setStyle(self.hint.style())
        self.retranslate()

    def retranslate(self) -> None:
        self.welcome.setText(self.t("home.welcome"))
        self.hint.setText(self.t("home.hint"))
        for key, available in TILES:
            text = self.t(key)
            if not available:
                text += "\n" + self.t("home.coming_soon")
            self.tiles[key].setText(text)
