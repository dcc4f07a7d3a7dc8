"""The materials screen shows the thumbnail of a scanned page that is stored encrypted."""

from __future__ import annotations

from kiosk.devices.capture import BlobStore, SimulatedScanner
from kiosk.ui.apply_materials import MaterialsScreen


def test_thumbnail_of_an_encrypted_page(qtbot, tmp_path):
    (page,) = SimulatedScanner(BlobStore(tmp_path / "blobs")).capture()
    assert page.path.read_bytes()[:5] == b"KENC1"  # Qt alone could not read this file
    screen = MaterialsScreen()
    qtbot.addWidget(screen)
    screen.show_materials([{"name": {"zh-Hans": "身份证", "zh-Hant": "身份證", "en": "ID card"},
                           "required": True, "form": "original"}],
                          can_scan=True)
    screen.add_pages(0, [page.path])
    pixmap = screen.rows[0].thumb.pixmap()
    assert pixmap is not None and not pixmap.isNull() and pixmap.width() > 0
    screen.resize(1080, 1920)
    screen.grab().save(str(tmp_path / "materials.png"))
