"""The issue's "Done when" tap-through against a real platform server process on loopback:
filed at the kiosk (simulated devices), synced by the app's own sync scheduler, and the server
holds the application and its three scans exactly once, byte for byte as captured."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6.QtWidgets")

from sync_e2e_tools import make_terminal, server_rows  # noqa: E402

from kiosk import catalog  # noqa: E402
from kiosk.devices.capture import PageOptions, normalise  # noqa: E402
from kiosk.store import open_store  # noqa: E402
from kiosk.ui.app import build_services, shutdown_services  # noqa: E402
from kiosk.ui.device_services import DeviceServices  # noqa: E402
from kiosk.ui.kiosk_window import KioskWindow  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))
from apply_tapthrough import file_by_tapping, image_file  # noqa: E402


@pytest.mark.pty  # reads the simulated ID card reader over a pseudo-terminal
def test_tap_through_reaches_the_real_server_exactly_once(qtbot, platform_server, tmp_path,
                                                          sample_bundle):
    terminal = make_terminal(tmp_path / "k", platform_server, timeout_s=5)
    catalog.apply_bundle(terminal.db, sample_bundle, source="test", validate=False)

    def open_db():
        return open_store(terminal.data_dir / "kiosk.db")

    services = build_services(open_db, terminal.agent)
    services.devices = DeviceServices(terminal.config, terminal.data_dir, open_db)
    window = KioskWindow(services, terminal.config)
    window.sync.stop()  # the test runs the rounds, through the same scheduler, when it wants
    window.applying.today = date(2026, 12, 7)
    qtbot.addWidget(window)
    window.show()
    try:
        images = {n: image_file(tmp_path / f"page{n}.png", (250 - n * 20, 245, 240), n + 3)
                  for n in range(3)}
        number, _printer = file_by_tapping(qtbot, window, services, images)

        reports = []
        window.sync.reported.connect(reports.append)
        for expected in (1, 2):  # the second round must send nothing again
            assert window.sync.run_now(force=True)
            qtbot.waitUntil(lambda expected=expected: len(reports) == expected, timeout=30_000)
            assert reports[-1].online, reports[-1].errors
        assert reports[0].pushed.get("application") == 1 and reports[0].pushed.get("blob") == 3
        assert not reports[1].pushed.get("application") and not reports[1].pushed.get("blob")
        assert reports[1].outbox_depth == 0
    finally:
        window.sync.stop()
        shutdown_services(services)  # the devices' worker too

    # The server's own database: the application once, with the three scans' hashes.
    (row,) = server_rows(platform_server.db_path, "SELECT number, item_code, data FROM applications")
    assert row[:2] == (number, "SCDJ-XK-004")
    sent = json.loads(row[2])
    assert sent["applicant"]["id_number"] == "11010519491231002X"
    hashes = [m["sha256"] for m in sent["materials"] if m.get("sha256")]
    assert len(hashes) == 3
    blobs = dict(server_rows(platform_server.db_path, "SELECT sha256, size FROM blobs"))
    assert sorted(blobs) == sorted(hashes)
    assert server_rows(platform_server.db_path,
                       "SELECT COUNT(*) FROM status_changes WHERE number = ?", (number,)) == [(1,)]

    # Each blob on the server is the page as captured (the image file, normalised), in the
    # clear there whatever the terminal keeps at rest, and named by its own SHA-256.
    expected = {hashlib.sha256(page).hexdigest(): page
                for page in (normalise(images[n].read_bytes(), PageOptions())[0]
                             for n in range(3))}
    assert sorted(expected) == sorted(hashes)
    for sha in hashes:
        stored = (platform_server.blob_dir / sha[:2] / sha).read_bytes()
        assert stored == expected[sha] and blobs[sha] == len(stored)
        assert stored[:3] == b"\xff\xd8\xff"  # a JPEG, not a sealed file

    # One upload of each: the access log has one application POST and one PUT per blob.
    log = platform_server.log_text()
    assert log.count("POST /v1/applications 200") == 1
    for sha in hashes:
        assert log.count(f"PUT /v1/blobs/{sha} 201") == 1
        assert f"PUT /v1/blobs/{sha} 200" not in log
