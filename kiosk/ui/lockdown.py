"""Kiosk lockdown: a frameless, always-on-top window that only an administrator's PIN closes.

In kiosk mode with ``fullscreen = true`` (kiosk.ui.app.run_kiosk) the window loses its frame and
stays on top, and an application-wide event filter swallows the shortcuts that close or leave an
application (Alt+F4, Alt+Tab, Ctrl+W/Q, Ctrl+Alt+Del, Ctrl+Alt+F-keys, F11, the Super/Meta keys,
Escape). ``KioskWindow.closeEvent`` refuses until :meth:`KioskLock.may_close`.

The way out for staff is hidden: five taps in the top-left corner of the screen (a square of
CORNER_PX) within three seconds open the PIN dialog. A wrong PIN counts toward the staff lockout
(kiosk.staff), a clerk's PIN is refused, and both are audited; an admin's PIN lets the window
close, audited as kiosk.exit. The same dialog guards the admin console (kiosk.ui.app.run_admin).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk import staff
from kiosk.i18n import tr
from kiosk.ui import theme

CORNER_PX = 120
TAPS = 5
TAP_WINDOW_S = 3.0
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_F_KEYS = {getattr(Qt.Key, f"Key_F{n}") for n in range(1, 13)}
_ALWAYS = {Qt.Key.Key_Meta, Qt.Key.Key_Super_L, Qt.Key.Key_Super_R, Qt.Key.Key_Hyper_L,
           Qt.Key.Key_Hyper_R, Qt.Key.Key_Escape, Qt.Key.Key_F11, Qt.Key.Key_Menu}


def swallowed(key: int, modifiers: Qt.KeyboardModifier) -> bool:
    """True for the keys a locked kiosk ignores: ways to close, switch away or leave it."""
    mods = Qt.KeyboardModifier(modifiers)
    alt = bool(mods & Qt.KeyboardModifier.AltModifier)
    ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
    meta = bool(mods & Qt.KeyboardModifier.MetaModifier)
    if key in _ALWAYS or meta:
        return True
    if alt and key in (Qt.Key.Key_F4, Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Escape,
                       Qt.Key.Key_Space):
        return True
    if ctrl and key in (Qt.Key.Key_W, Qt.Key.Key_Q, Qt.Key.Key_Escape):
        return True
    return ctrl and alt and (key in _F_KEYS or key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace))


class KioskLock(QObject):
    """Locks one window: flags, the shortcut filter, the corner gesture and the PIN exit."""

    exit_requested = Signal()  # the corner gesture was made

    def __init__(self, window: QWidget, services: Any, lang: Callable[[], str]) -> None:
        super().__init__(window)
        self.window = window
        self.services = services
        self.lang = lang
        self._exit_allowed = False
        self._taps: list[float] = []
        self.dialog: PinDialog | None = None
        window.setWindowFlags(window.windowFlags() | Qt.WindowType.FramelessWindowHint
                              | Qt.WindowType.WindowStaysOnTopHint)
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self)
        self.exit_requested.connect(self.ask_for_pin)
        idle = getattr(window, "idle", None)
        if idle is not None:  # a PIN dialog left open is closed with the visitor's session
            idle.timed_out.connect(self._close_dialog)

    def _close_dialog(self) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.reject()

    def may_close(self) -> bool:
        return self._exit_allowed

    def release(self) -> None:
        """Stop filtering (after an admin's exit)."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride):
            in_dialog = self.dialog is not None and self.dialog.isVisible()
            if swallowed(event.key(), event.modifiers()) and not (
                    in_dialog and event.key() == Qt.Key.Key_Escape
                    and event.modifiers() == Qt.KeyboardModifier.NoModifier):
                return True
        elif kind == QEvent.Type.MouseButtonPress and watched is self.window.windowHandle():
            # The window's own QWindow sees each press once, before any widget does (a touch
            # tap arrives here too, as the mouse press Qt makes of it). Never swallowed.
            self._tap(event)
        return False

    def _tap(self, event: QEvent) -> None:
        point = event.position()
        if point.x() > CORNER_PX or point.y() > CORNER_PX:
            self._taps.clear()
            return
        now = time.monotonic()
        self._taps = [t for t in self._taps if now - t <= TAP_WINDOW_S] + [now]
        if len(self._taps) >= TAPS:
            self._taps.clear()
            self.exit_requested.emit()

    def ask_for_pin(self) -> PinDialog:
        """Show the PIN dialog (also what the corner gesture does); returns it."""
        if self.dialog is None:
            self.dialog = PinDialog(self.services, "kiosk_exit", self.window)
            self.dialog.accepted_admin.connect(self._admin_exit)
        self.dialog.start(self.lang())
        return self.dialog

    def _admin_exit(self, clerk: staff.Clerk) -> None:
        self._exit_allowed = True
        self.release()
        self.window.close()


class PinDialog(QDialog):
    """Staff id and PIN on a touch pad; answers ``accepted_admin(Clerk)`` for an admin only.

    ``purpose`` ("kiosk_exit" or "admin_console") goes into the audit records.
    """

    accepted_admin = Signal(object)

    def __init__(self, services: Any, purpose: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.purpose = purpose
        self.lang = "zh-Hans"
        self.values = {"staff": "", "pin": ""}
        self.field = "staff"
        self.letters = False
        self.setModal(True)
        self.setWindowFlags(self.windowFlags() | Qt.WindowType.FramelessWindowHint
                            | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("pinDialog")
        column = QVBoxLayout(self)
        column.setContentsMargins(40, 40, 40, 40)
        column.setSpacing(20)
        self.title = QLabel()
        self.title.setObjectName("pinTitle")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("pinMessage")
        column.addWidget(self.title)
        column.addWidget(self.message)
        self.staff_button = self._button("", lambda: self._select("staff"), "pinField")
        self.pin_button = self._button("", lambda: self._select("pin"), "pinField")
        column.addWidget(self.staff_button)
        column.addWidget(self.pin_button)
        self.pad = QWidget()
        self.grid = QGridLayout(self.pad)
        self.grid.setSpacing(12)
        column.addWidget(self.pad)
        row = QHBoxLayout()
        self.cancel_button = self._button("", self.reject, "pinCancel")
        self.ok_button = self._button("", self.submit, "pinOk")
        row.addWidget(self.cancel_button)
        row.addWidget(self.ok_button)
        column.addLayout(row)
        self.keys: dict[str, QPushButton] = {}
        self._build_pad()
        self.setStyleSheet(theme.style_sheet(False) + PIN_STYLE)

    def _button(self, text: str, slot: Callable[[], None], name: str = "pinKey",
                minimum: int = theme.TOUCH_MIN + 40) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setMinimumSize(minimum, theme.TOUCH_MIN + 10)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _build_pad(self) -> None:
        """Digits (3 × 4) for a PIN; letters and digits for a staff id ("ABC" switches)."""
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.hide()  # at once: deleteLater waits for the event loop
                widget.setParent(None)
                widget.deleteLater()
        self.keys = {}
        columns = 7 if self.letters else 3
        chars = LETTERS if self.letters else "123456789"
        for n, ch in enumerate(chars):
            key = self._button(ch, lambda ch=ch: self._type(ch), minimum=theme.TOUCH_MIN)
            self.keys[ch] = key
            self.grid.addWidget(key, n // columns, n % columns)
        self.delete_key = self._button(tr("pin.delete", self.lang), self._backspace)
        self.clear_key = self._button(tr("pin.clear", self.lang), self._clear)
        if self.letters:  # Z ends row 3 at column 4: delete and clear after it
            self.grid.addWidget(self.delete_key, 3, 5)
            self.grid.addWidget(self.clear_key, 3, 6)
        else:  # a phone's pad: delete, 0, clear under 7 8 9
            self.keys["0"] = self._button("0", lambda: self._type("0"))
            self.grid.addWidget(self.delete_key, 3, 0)
            self.grid.addWidget(self.keys["0"], 3, 1)
            self.grid.addWidget(self.clear_key, 3, 2)
        if self.field == "staff":
            self.mode_key = self._button("123" if self.letters else "ABC", self._toggle_letters)
            self.grid.addWidget(self.mode_key, 4, 0, 1, columns)

    def start(self, lang: str, show: bool = True) -> None:
        """Clear everything and show the dialog in ``lang`` (``show=False``: the caller execs)."""
        self.lang = lang
        self.values = {"staff": "", "pin": ""}
        self.field, self.letters = "staff", False
        self.message.setText(tr("pin.hint", lang))
        self._retranslate()
        self._build_pad()
        self._show_values()
        self.ok_button.setEnabled(True)
        if show:
            self.show()
            self.raise_()
            self.activateWindow()

    def _retranslate(self) -> None:
        key = "pin.title.exit" if self.purpose == "kiosk_exit" else "pin.title.admin"
        self.title.setText(tr(key, self.lang))
        self.ok_button.setText(tr("pin.ok", self.lang))
        self.cancel_button.setText(tr("pin.cancel", self.lang))

    def _select(self, field: str) -> None:
        self.field = field
        self.letters = False
        self._build_pad()
        self._show_values()

    def _toggle_letters(self) -> None:
        self.letters = not self.letters
        self._build_pad()

    def _type(self, ch: str) -> None:
        limit = 12 if self.field == "pin" else 32
        if len(self.values[self.field]) < limit:
            self.values[self.field] += ch
        self._show_values()

    def _backspace(self) -> None:
        self.values[self.field] = self.values[self.field][:-1]
        self._show_values()

    def _clear(self) -> None:
        self.values[self.field] = ""
        self._show_values()

    def _show_values(self) -> None:
        marks = {"staff": "▶ " if self.field == "staff" else "",
                 "pin": "▶ " if self.field == "pin" else ""}
        self.staff_button.setText(f"{marks['staff']}{tr('pin.staff', self.lang)}: "
                                  f"{self.values['staff']}")
        self.pin_button.setText(f"{marks['pin']}{tr('pin.pin', self.lang)}: "
                                f"{'●' * len(self.values['pin'])}")

    def submit(self) -> None:
        """Check the PIN on the store thread (scrypt takes tens of milliseconds)."""
        staff_id, pin = self.values["staff"], self.values["pin"]
        self.values["pin"] = ""
        self._show_values()
        if not staff_id or not pin:
            return
        self.ok_button.setEnabled(False)
        self.message.setText(tr("pin.checking", self.lang))
        purpose = self.purpose
        self.services.worker.submit(lambda db: staff.admin_gate(db, staff_id, pin, purpose),
                                    self._passed, self._refused)

    def _passed(self, admin: staff.Clerk) -> None:
        self.ok_button.setEnabled(True)
        self.hide()
        self.accepted_admin.emit(admin)
        self.accept()

    def _refused(self, exc: Exception) -> None:
        self.ok_button.setEnabled(True)
        key = exc.key if isinstance(exc, staff.StaffError) else "error.try_again"
        self.message.setText(tr(key, self.lang))


PIN_STYLE = """
#pinDialog { background: #ffffff; border: 4px solid #1f4e8c; }
#pinTitle { font-size: 40px; font-weight: bold; color: #1f4e8c; }
#pinMessage { font-size: 28px; }
#pinField { font-size: 34px; text-align: left; padding-left: 20px; }
#pinKey { font-size: 36px; }
"""
