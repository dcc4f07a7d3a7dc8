"""Applying, step 3: the item's materials. Scan each (several pages), or say the original is
brought to the counter; see a preview, retake or delete.

The list comes from the guide; the screen keeps only what the visitor did (MaterialState per
material) and asks for scans by signal; kiosk.ui.apply_flow captures the pages through
DeviceServices and answers with ``add_pages`` or ``show_problem``.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.crypto import CryptoError
from kiosk.devices.capture import read_page
from kiosk.i18n import pick
from kiosk.prereview import MaterialState
from kiosk.ui.screen import Screen, clear_layout, title_label, touch_scroll_area, wrapped

THUMB = 120


# The theme gives plain buttons no "on" look; a chosen option must show it is chosen.
CHECKED_STYLE = ("QPushButton:checked { background: #0b4f9c; color: white; }"
                 " QPushButton { padding: 2px 8px; }")  # three buttons share a row


class _MaterialRow(QFrame):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("material")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        grid = QGridLayout(self)
        grid.setContentsMargins(16, 12, 16, 12)
        grid.setHorizontalSpacing(16)
        self.thumb = QLabel()
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet("background: #eceff3; border-radius: 8px;")
        self.name = wrapped()
        self.status = wrapped(object_name="hint")
        self.scan = QPushButton()
        self.original = QPushButton()
        self.original.setCheckable(True)
        self.delete = QPushButton()
        grid.addWidget(self.thumb, 0, 0, 2, 1)
        grid.addWidget(self.name, 0, 1, 1, 3)
        grid.addWidget(self.status, 1, 1, 1, 3)
        grid.addWidget(self.scan, 2, 1)
        grid.addWidget(self.original, 2, 2)
        grid.addWidget(self.delete, 2, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        grid.setColumnStretch(3, 1)


class MaterialsScreen(Screen):
    name_key = "screen.apply_materials"
    scan_requested = Signal(int)  # material index in the guide
    done = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.materials: list[dict] = []
        self.states: dict[int, MaterialState] = {}
        self.rows: list[_MaterialRow] = []
        self.problem = ""
        self.scanning: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(30, 20, 30, 10)
        layout.setSpacing(14)
        self.title = title_label()
        self.hint = wrapped(object_name="hint")
        self.notice = wrapped(object_name="notice")
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addWidget(self.notice)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setSpacing(12)
        self.scroll = touch_scroll_area(self.body)
        layout.addWidget(self.scroll, 1)
        self.next_button = QPushButton()
        self.next_button.clicked.connect(self.done)
        layout.addWidget(self.next_button)
        self.can_scan = True
        self.setStyleSheet(CHECKED_STYLE)

    def show_materials(self, materials: list[dict], can_scan: bool) -> None:
        self.materials = materials
        self.states = {n: MaterialState(n) for n in range(len(materials))}
        self.can_scan = can_scan
        self.problem = ""
        clear_layout(self.body_layout)
        self.rows = []
        for n in range(len(materials)):
            row = _MaterialRow()
            row.scan.clicked.connect(lambda _=False, n=n: self._scan(n))
            row.original.toggled.connect(lambda on, n=n: self._original(n, on))
            row.delete.clicked.connect(lambda _=False, n=n: self.delete_pages(n))
            self.rows.append(row)
            self.body_layout.addWidget(row)
        self.body_layout.addStretch(1)
        self.retranslate()

    def state_list(self) -> list[MaterialState]:
        return [self.states[n] for n in sorted(self.states)]

    def _scan(self, n: int) -> None:
        if self.scanning is not None:
            return  # one scan at a time
        self.scanning = n
        self.problem = ""
        self.retranslate()
        self.scan_requested.emit(n)

    def add_pages(self, n: int, paths: list[Path]) -> None:
        """Scanned pages arrived for material ``n`` (appended: a document has several)."""
        self.scanning = None
        old = self.states[n]
        self.states[n] = MaterialState(n, old.pages + tuple(str(p) for p in paths), False)
        self.rows[n].original.setChecked(False)
        self.retranslate()

    def show_problem(self, key: str) -> None:
        self.scanning = None
        self.problem = key
        self.retranslate()

    def delete_pages(self, n: int) -> None:
        """Retake: forget the pages of material ``n`` (the files stay until filed or purged)."""
        self.states[n] = MaterialState(n, (), self.states[n].original_brought)
        self.retranslate()

    def _original(self, n: int, on: bool) -> None:
        self.states[n] = MaterialState(n, self.states[n].pages, on)
        self.retranslate()

    def clear(self) -> None:
        self.materials, self.states, self.rows = [], {}, []
        self.problem, self.scanning = "", None
        clear_layout(self.body_layout)

    def retranslate(self) -> None:
        self.title.setText(self.t("apply.materials.title"))
        self.hint.setText(self.t("apply.materials.hint" if self.can_scan
                                 else "apply.materials.no_scanner"))
        self.notice.setText(self.t(self.problem) if self.problem else "")
        self.notice.setVisible(bool(self.problem))
        self.next_button.setText(self.t("apply.materials.check"))
        for n, row in enumerate(self.rows):
            m, state = self.materials[n], self.states[n]
            need = self.t("guide.required" if m["required"] else "guide.optional")
            row.name.setText(f"{n + 1}. {pick(m['name'], self.lang)}  ({need})")
            if state.pages:
                status = self.t("apply.materials.pages", n=len(state.pages))
            elif state.original_brought:
                status = self.t("apply.materials.original_marked")
            elif self.scanning == n:
                status = self.t("apply.materials.scanning")
            else:
                status = self.t("apply.materials.none")
            row.status.setText(status)
            row.scan.setText(self.t("apply.materials.scan_more" if state.pages
                                    else "apply.materials.scan"))
            row.scan.setEnabled(self.can_scan and self.scanning is None)
            row.original.setText(self.t("apply.materials.original"))
            row.original.setEnabled(not state.pages)
            row.delete.setText(self.t("apply.materials.delete"))
            row.delete.setEnabled(bool(state.pages))
            if state.pages:
                pix = QPixmap()
                with suppress(OSError, CryptoError):  # unreadable: no thumbnail, as before
                    pix.loadFromData(read_page(state.pages[-1]))  # pages are stored encrypted
                row.thumb.setPixmap(pix.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
            else:
                row.thumb.clear()
