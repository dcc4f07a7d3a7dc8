"""The service guide of one item, laid out for an elderly visitor to read standing up.

Big type, one column, scrolled by dragging; the materials are a checklist the visitor can tick
while checking their folder; a QR code carries the same guide to their phone.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.i18n import has, pick
from kiosk.ui.check_row import CheckRow
from kiosk.ui.qr import qr_pixmap
from kiosk.ui.screen import Screen, clear_layout, title_label, touch_scroll_area, wrapped

FORM_KEYS = {
    "original": "guide.form.original",
    "copy": "guide.form.copy",
    "original_and_copy": "guide.form.original_and_copy",
    "electronic": "guide.form.electronic",
}


class GuideScreen(Screen):
    name_key = "screen.guide"
    apply_requested = Signal(object)  # the item dict: "申请办理 / File an application"

    def __init__(self, guide_url_template: str) -> None:
        super().__init__()
        self.guide_url_template = guide_url_template
        self.item: dict | None = None
        self.department: dict | None = None
        self.checked: set[int] = set()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(30, 20, 30, 10)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setSpacing(16)
        self.body_layout.setContentsMargins(10, 10, 10, 10)
        self.scroll = touch_scroll_area(self.body)
        layout.addWidget(self.scroll, 1)
        self.apply_button = QPushButton()
        self.apply_button.setObjectName("tile")
        self.apply_button.clicked.connect(lambda: self.item and self.apply_requested.emit(self.item))
        layout.addWidget(self.apply_button)
        self.material_boxes: list[CheckRow] = []

    def show_item(self, item: dict, department: dict | None) -> None:
        self.item, self.department = item, department
        self.checked = set()
        self.retranslate()
        self.scroll.verticalScrollBar().setValue(0)

    def clear(self) -> None:
        self.item = self.department = None
        self.checked = set()
        self._empty()

    def _empty(self) -> None:
        self.material_boxes = []
        clear_layout(self.body_layout)

    def _text(self, value: dict | None) -> str:
        if value and not has(value, self.lang):
            self.fallback_used = True
        return pick(value, self.lang)

    def _section(self, key: str) -> None:
        label = QLabel(self.t(key))
        label.setObjectName("sectionTitle")
        self.body_layout.addWidget(label)

    def _para(self, text: str) -> QLabel:
        label = wrapped(text, "guideText")
        self.body_layout.addWidget(label)
        return label

    def retranslate(self) -> None:
        self._empty()
        self.apply_button.setText(self.t("guide.apply"))
        item = self.item
        if item is None:
            return
        self.fallback_used = False
        g = item["guide"]
        head = QHBoxLayout()
        text_col = QVBoxLayout()
        self.title = title_label(pick(item["name"], self.lang))
        text_col.addWidget(self.title)
        if self.department:
            text_col.addWidget(wrapped(pick(self.department["name"], self.lang), "hint"))
        text_col.addWidget(wrapped(self.t(f"guide.online_level.{item['online_level']}"), "hint"))
        text_col.addWidget(wrapped(pick(item["summary"], self.lang)))
        head.addLayout(text_col, 1)
        qr_col = QVBoxLayout()
        self.qr = QLabel()
        self.qr.setPixmap(qr_pixmap(self.guide_url_template.format(code=item["code"]), 240))
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        qr_col.addWidget(self.qr)
        qr_hint = wrapped(self.t("guide.qr_hint"), "hint")
        qr_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        qr_hint.setMaximumWidth(280)
        qr_col.addWidget(qr_hint)
        qr_col.addStretch(1)
        head.addLayout(qr_col)
        head_widget = QWidget()
        head_widget.setLayout(head)
        self.body_layout.addWidget(head_widget)

        limit = g["time_limit"]
        fees = g["fees"]
        if fees["charged"]:
            fee_text = "；".join(
                f"{pick(f['name'], self.lang)}: {pick(f['amount'], self.lang)}" for f in fees["items"]
            )
        else:
            fee_text = self.t("guide.free")
        if fees.get("note") and self._text(fees["note"]) != fee_text:
            fee_text += f"（{self._text(fees['note'])}）" if self.lang != "en" else f" ({self._text(fees['note'])})"
        facts = [
            (self.t("guide.time_limit"), self._time_limit(limit)),
            (self.t("guide.fees"), fee_text),
            (self.t("guide.place"), pick(g["place"], self.lang)),
            (self.t("guide.hours"), pick(g["hours"], self.lang)),
            (self.t("guide.phone"), g["phone"]),
        ]
        self._section("guide.section.basics")
        self._para("\n".join(f"{k}：{v}" if self.lang != "en" else f"{k}: {v}" for k, v in facts))

        self._section("guide.section.materials")
        self.body_layout.addWidget(wrapped(self.t("guide.materials_hint"), "hint"))
        for n, material in enumerate(g["materials"]):
            form = self.t(FORM_KEYS[material["form"]])
            need = self.t("guide.required" if material["required"] else "guide.optional")
            line = f"{n + 1}. {pick(material['name'], self.lang)}\n    {need} · {form}"
            if material["copies"]:
                copies = "guide.copy_one" if material["copies"] == 1 else "guide.copies"
                line += " · " + self.t(copies, n=material["copies"])
            for extra in ("format", "note"):
                if material.get(extra):
                    line += "\n    " + self._text(material[extra])
            box = CheckRow(line)
            box.setChecked(n in self.checked)
            box.toggled.connect(lambda on, n=n: self._tick(n, on))
            self.body_layout.addWidget(box)
            self.material_boxes.append(box)

        self._section("guide.section.conditions")
        self._para("\n".join(f"{n + 1}. {self._text(c)}" for n, c in enumerate(g["conditions"])))
        self._section("guide.section.steps")
        self._para("\n\n".join(
            f"{n + 1}. {pick(s['title'], self.lang)}\n{self._text(s['detail'])}"
            for n, s in enumerate(g["steps"])
        ))
        if limit.get("note"):
            self._para(self._text(limit["note"]))
        self._section("guide.section.faq")
        self._para("\n\n".join(f"{self.t('guide.q')}{self._text(f['q'])}\n{self.t('guide.a')}{self._text(f['a'])}"
                               for f in g["faq"]))
        self._section("guide.section.legal_basis")
        if not all(has(b, self.lang) for b in g["legal_basis"]):
            # Laws are cited by their Chinese titles; say so rather than flag the whole guide.
            self.body_layout.addWidget(wrapped(self.t("guide.laws_in_chinese"), "hint"))
        self._para("\n".join(pick(b, self.lang) for b in g["legal_basis"]))
        if self.fallback_used:
            # Said once, at the top, rather than on every untranslated paragraph.
            self.body_layout.insertWidget(1, wrapped(self.t("guide.partly_untranslated"), "notice"))
        self.body_layout.addStretch(1)

    def _time_limit(self, limit: dict) -> str:
        if limit["committed_days"] == 0:  # 当场办结: done while the visitor waits
            return self.t("guide.on_the_spot")
        return self.t("guide.days", legal=limit["legal_days"], committed=limit["committed_days"])

    def _tick(self, n: int, on: bool) -> None:
        if on:
            self.checked.add(n)
        else:
            self.checked.discard(n)
