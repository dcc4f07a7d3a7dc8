"""The issue's tap-through of filing an application, shared by the in-process test
(tests/ui/test_apply_flow.py) and the one against a real platform process
(tests/e2e/test_apply_e2e.py): search an item → read the simulated ID card → fill the form →
scan two materials from image files → pre-review lists the one missing material → add it →
file → the simulated printer's receipt carries the right number and item.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

SHOTS = Path("/tmp/kiosk-apply-shots")
ITEM = "SCDJ-XK-004"  # 个体工商户设立登记: three required materials, two optional


def settle(qtbot, services):
    for _ in range(3):
        services.worker.wait_idle()
        services.devices.worker.wait_idle()
        qtbot.wait(10)


def tap(qtbot, button):
    assert button.isEnabled() and button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def image_file(path: Path, colour: tuple[int, int, int], text_seed: int) -> Path:
    img = Image.new("RGB", (800, 1100), colour)
    for x in range(0, 800, 7):
        img.putpixel((x, (x * text_seed) % 1100), (0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


def shot(window, name: str) -> None:
    QApplication.processEvents()  # let layouts settle (posted LayoutRequest events)
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / f"{name}.png"))


def file_by_tapping(qtbot, window, services, images: dict[int, Path]) -> tuple[str, object]:
    """Tap through filing ITEM with the three scans in ``images``; returns (the application's
    number, the simulated printer) once the receipt has printed."""
    flow = window.applying
    flow.scan_paths = lambda n: [images[n]]

    # Search → guide → 申请办理.
    tap(qtbot, window.home.tiles["tile.apply"])
    assert window.stack.currentWidget() is window.search
    for ch in "gtgsh":
        tap(qtbot, window.search.keyboard.keys[ch])
    qtbot.waitUntil(lambda: any(r.code == ITEM for r in window.search.rows))
    row = next(r for r in window.search.rows if r.code == ITEM)
    row.chosen.emit(row.code)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.guide)
    tap(qtbot, window.guide.apply_button)
    assert window.stack.currentWidget() is flow.identity
    shot(window, "01-identity")

    # Read the simulated card: name and number come from it, locked.
    tap(qtbot, flow.identity.read_button)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is flow.form, timeout=5000)
    rows = flow.form.rows
    assert rows["name"].value() == "张丽" and rows["name"].edit.isReadOnly()
    assert rows["id_number"].value() == "11010519491231002X"
    tap(qtbot, rows["applicant_type"].choice_buttons["person"])
    assert not rows["credit_code"].isVisible()
    rows["phone"].edit.setFocus()
    for ch in "1380013800":
        tap(qtbot, flow.form.keyboard.keys[ch])
    tap(qtbot, flow.form.next_button)  # one digit short: refused on the spot
    assert window.stack.currentWidget() is flow.form
    assert "11" in rows["phone"].error.text()
    shot(window, "02-form-error")
    rows["phone"].edit.setFocus()
    tap(qtbot, flow.form.keyboard.keys["0"])
    assert rows["phone"].error.text() == ""
    shot(window, "03-form")
    tap(qtbot, flow.form.next_button)
    assert window.stack.currentWidget() is flow.materials

    # Two materials scanned from image files; the third required one forgotten.
    m = flow.materials
    for n in (0, 1):
        tap(qtbot, m.rows[n].scan)
        settle(qtbot, services)
        qtbot.waitUntil(lambda n=n: bool(m.states[n].pages))
    assert "1" in m.rows[0].status.text()
    shot(window, "04-materials")
    tap(qtbot, m.next_button)
    review = flow.review
    assert window.stack.currentWidget() is review
    assert len(review.lines) == 1 and "经营场所使用证明" in review.lines[0].text()
    assert not review.file_button.isEnabled()
    shot(window, "05-prereview-missing")
    tap(qtbot, review.print_button)  # the one-time list, printed
    settle(qtbot, services)
    sim = services.devices.devices.printer.transport.sim
    assert "经营场所使用证明" in sim.printed[-1].text()

    # Add it and file.
    tap(qtbot, review.materials_button)
    tap(qtbot, m.rows[2].scan)
    settle(qtbot, services)
    qtbot.waitUntil(lambda: bool(m.states[2].pages))
    tap(qtbot, m.next_button)
    assert review.lines == [] and review.file_button.isEnabled()
    shot(window, "06-prereview-ok")
    tap(qtbot, review.file_button)
    tap(qtbot, review.file_button) if review.file_button.isEnabled() else None  # double tap
    qtbot.waitUntil(lambda: window.stack.currentWidget() is flow.done, timeout=5000)
    settle(qtbot, services)
    number = flow.done.number
    assert number.startswith("H0001-K01-") and flow.done.printed is True
    shot(window, "07-filed")

    receipt = sim.printed[-1].text()
    sim.render_page(sim.printed[-1]).save(str(SHOTS / "09-receipt.png"))
    sim.render_page(sim.printed[-2]).save(str(SHOTS / "05b-prereview-notice.png"))
    assert number in receipt and "个体工商户设立登记" in receipt
    assert "11010519491231002X" not in receipt  # masked on paper
    return number, sim
