"""The shared touch theme: sizes, colours and the style sheet, with a large-text variant.

Sizes are in pixels for a 1080-wide portrait or 1920-wide landscape screen at arm's length.
A touch target is never smaller than TOUCH_MIN: 80 px is 20 mm on a 21.5-inch 1080p panel
(0.248 mm a pixel), the size guidance for elderly users' fingertips asks for.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

TOUCH_MIN = 80
BLUE = "#0b4f9c"
BLUE_DARK = "#083a73"
ACCENT = "#d9480f"
INK = "#1a1a1a"
MUTED = "#4a4a4a"
PAPER = "#f4f6fa"
HIGHLIGHT_BG = "#ffe066"

CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC")


def base_font_px(large: bool) -> int:
    return 40 if large else 30


def setup_fonts(app: QApplication) -> str:
    """Use an installed CJK font for everything, so Chinese never renders as boxes."""
    families = set(QFontDatabase.families())
    family = next((f for f in CJK_FAMILIES if f in families), app.font().family())
    font = QFont(family)
    font.setPixelSize(base_font_px(False))
    app.setFont(font)
    return family


def style_sheet(large: bool) -> str:
    s = base_font_px(large)
    return f"""
    QWidget {{ font-size: {s}px; color: {INK}; }}
    QMainWindow, #screenArea {{ background: {PAPER}; }}
    #topBar {{ background: {BLUE}; }}
    #topBar QLabel {{ color: white; }}
    #hallTitle {{ font-size: 34px; font-weight: bold; color: white; }}
    #clock {{ font-size: 24px; color: white; }}
    QPushButton {{
        min-height: {TOUCH_MIN}px; min-width: {TOUCH_MIN}px; padding: 2px 20px;
        border-radius: 14px; border: 2px solid {BLUE}; background: white; color: {BLUE};
        font-size: {s}px; font-weight: bold;
    }}
    QPushButton:pressed {{ background: {BLUE}; color: white; }}
    QPushButton:disabled {{ color: #8a8a8a; border-color: #b0b0b0; background: #eceff3; }}
    #topBar QPushButton {{ background: transparent; color: white; border: 2px solid white;
        font-size: 28px; padding: 2px 14px; }}
    #topBar QPushButton:checked {{ background: white; color: {BLUE}; }}
    /* the bars keep one size: large text is for reading, the bars must still fit */
    #navBar {{ background: white; border-top: 2px solid #d5dbe5; }}
    #tile {{ background: {BLUE}; color: white; border: none; border-radius: 24px;
        font-size: {int(s * 1.35)}px; padding: 24px; text-align: center; }}
    #tile:pressed {{ background: {BLUE_DARK}; }}
    #tile[available="false"] {{ background: #8797ad; }}
    #screenTitle {{ font-size: {int(s * 1.5)}px; font-weight: bold; color: {BLUE_DARK}; }}
    #hint {{ color: {MUTED}; }}
    #listButton {{ text-align: left; padding: 16px 28px; border: 2px solid #c9d3e3;
        color: {INK}; font-weight: normal; }}
    #resultRow {{ background: white; border: 2px solid #c9d3e3; border-radius: 14px; }}
    #resultName {{ font-size: {int(s * 1.1)}px; font-weight: bold; }}
    #resultMeta {{ color: {MUTED}; font-size: {int(s * 0.85)}px; }}
    #searchField {{ min-height: {TOUCH_MIN}px; font-size: {int(s * 1.2)}px; padding: 0 20px;
        border: 3px solid {BLUE}; border-radius: 14px; background: white; }}
    #key {{ min-width: 0; padding: 0; font-size: 36px; }}
    #keyWide {{ min-width: 0; padding: 0; font-size: 30px; }}
    #sectionTitle {{ font-size: {int(s * 1.15)}px; font-weight: bold; color: white;
        background: {BLUE}; border-radius: 10px; padding: 10px 18px; }}
    #guideText {{ background: white; border-radius: 10px; padding: 14px 18px; }}
    #material {{ background: white; border-radius: 10px; padding: 8px 12px; }}
    QCheckBox {{ spacing: 18px; }}
    QCheckBox::indicator {{ width: {int(s * 1.4)}px; height: {int(s * 1.4)}px; }}
    #countdown {{ background: rgba(0, 0, 0, 170); }}
    #countdownBox {{ background: white; border-radius: 24px; }}
    #countdownNumber {{ font-size: {int(s * 4)}px; font-weight: bold; color: {ACCENT}; }}
    #comingSoon {{ font-size: {int(s * 1.2)}px; color: {MUTED}; }}
    #notice {{ background: #fff4e5; border: 2px solid {ACCENT}; border-radius: 12px; padding: 14px; }}
    QScrollBar:vertical {{ width: 22px; }}
    """
