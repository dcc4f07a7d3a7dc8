"""The demo's screenshot tour writes one PNG per screen and language."""

from PySide6.QtGui import QImage

from kiosk.__main__ import main


def test_screenshot_tour_writes_every_screen(tmp_path, qapp):
    out = tmp_path / "shots"
    assert main(["--data-dir", str(tmp_path / "data"), "demo", "--screenshots", str(out)]) == 0
    pngs = sorted(out.glob("*.png"))
    for lang in ("zh-Hans", "zh-Hant", "en"):
        names = [p.name for p in pngs if f"-{lang}-" in p.name]
        assert any("guide" in n for n in names) and any("search-yyzz" in n for n in names)
    # No screen in any language or text size may push the window past the panel.
    for png in pngs:
        image = QImage(str(png))
        expected = (1080, 1920) if png.name.startswith("portrait") else (1920, 1080)
        assert (image.width(), image.height()) == expected, png.name
