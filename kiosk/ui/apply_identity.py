"""Applying, step 1: who applies. Read the ID card on the reader, or type the number instead.

The screen only asks (signals); kiosk.ui.apply_flow reads the card through DeviceServices and
answers with ``show_card`` or ``show_problem``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QSizePolicy, QVBoxLayout

from kiosk.i18n import pick
from kiosk.idnumbers import mask_resident_id
from kiosk.ui.screen import Screen, title_label, wrapped
from kiosk.ui.theme import TOUCH_MIN


class IdentityScreen(Screen):
    name_key = "screen.apply_identity"
    read_requested = Signal()
    type_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.item_name: dict = {}
        self.state = ("apply.identity.hint", {})
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 30)
        layout.setSpacing(28)
        self.title = title_label()
        self.item_label = wrapped(object_name="hint")
        self.status = wrapped()
        layout.addWidget(self.title)
        layout.addWidget(self.item_label)
        layout.addWidget(self.status)
        self.read_button = QPushButton()
        self.read_button.setObjectName("tile")
        self.read_button.setMinimumHeight(TOUCH_MIN * 3)
        self.read_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.type_button = QPushButton()
        self.type_button.setMinimumHeight(TOUCH_MIN + 20)
        self.read_button.clicked.connect(self._read)
        self.type_button.clicked.connect(self.type_requested)
        layout.addWidget(self.read_button)
        layout.addWidget(self.type_button)
        layout.addStretch(1)

    def start(self, item_name: dict, reader_available: bool) -> None:
        self.item_name = item_name
        self.read_button.setEnabled(reader_available)
        self.state = ("apply.identity.hint" if reader_available
                      else "apply.identity.no_reader", {})
        self.retranslate()

    def _read(self) -> None:
        self.read_button.setEnabled(False)  # one read at a time
        self.state = ("apply.identity.reading", {})
        self.retranslate()
        self.read_requested.emit()

    def show_problem(self, visitor_key: str) -> None:
        self.read_button.setEnabled(True)
        self.state = (visitor_key, {})
        self.status.setObjectName("notice")
        self.status.setStyle(self.status.style())
        self.retranslate()

    def show_card(self, name: str, number: str) -> None:
        self.read_button.setEnabled(True)
        self.state = ("apply.identity.read", {"name": name, "number": mask_resident_id(number)})
        self.retranslate()

    def clear(self) -> None:
        self.item_name = {}
        self.state = ("apply.identity.hint", {})
        self.status.setObjectName("")
        self.status.setStyle(self.status.style())
        self.read_button.setEnabled(True)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("apply.identity.title"))
        self.item_label.setText(pick(self.item_name, self.lang))
        key, values = self.state
        self.status.setText(self.t(key, **values))
        self.read_button.setText(self.t("apply.identity.read_card"))
        self.type_button.setText(self.t("apply.identity.type"))
