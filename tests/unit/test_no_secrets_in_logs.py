"""No log line holds the terminal token or a visitor's personal data.

With every logger at DEBUG (urllib3, uvicorn, the platform server and ours), a visitor's
application is pre-reviewed and filed, synced to a real platform server on loopback (uvicorn in
a thread, urllib3 underneath requests), statuses are pulled, a round runs with a wrong token and
one with a record the platform rejects, and the ID card is read through the simulated reader
including every fault; then every captured record is searched for the token, the ID number, the
name, the phone and the address.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import replace
from datetime import date

import pytest
import uvicorn
from sync_support import InProcessPlatform, tiny_bundle

from kiosk import catalog
from kiosk.config import Config
from kiosk.devices.idcard import IdCardError, SerialIdCardReader
from kiosk.devices.idcard_sim import FAULTS, SimulatedReader, demo_card
from kiosk.forms import form_for_item
from kiosk.prereview import MaterialState, file_reviewed
from kiosk.sync.http import write_token
from kiosk.sync.runner import SyncAgent

ID_NUMBER = "11010519491231002X"  # the GB 11643 example number, also on the simulated card
NAME = "欧阳丽华"
PHONE = "13912345678"
CARD = replace(demo_card(), name=NAME)
SECRETS_OF_CARD = (ID_NUMBER, NAME, CARD.address, "19491231")


def _everything_logged(caplog) -> str:
    """Every record: message, raw arguments and formatted traceback, plus the handler text."""
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or "",
                  logging.Formatter().formatException(record.exc_info) if record.exc_info else ""]
    return "\n".join(parts)


def _debug_everywhere(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "uvicorn", "uvicorn.access", "uvicorn.error", "kiosk"):
        caplog.set_level(logging.DEBUG, logger=name)


@pytest.fixture
def served_platform(tmp_path):
    """The reference platform app served by uvicorn on 127.0.0.1 in a thread: (platform, url)."""
    platform = InProcessPlatform(tmp_path / "platform")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(platform.app, host="127.0.0.1", port=port,
                                           log_level="debug", log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield platform, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    platform.close()


def _agent(platform, url, data, token, terminal_id="K01") -> SyncAgent:
    write_token(data / "terminal.token", token)
    (data / "catalog_signing_key.pub.pem").write_bytes(platform.public_key_path.read_bytes())
    return SyncAgent(Config(hall_id="H0001", terminal_id=terminal_id, platform_url=url), data)


def test_filing_sync_and_status_pull_log_no_token_or_personal_data(
        caplog, served_platform, catalog_db, sample_bundle, tmp_path):
    platform, url = served_platform
    token = platform.enroll("H0001", "K01")
    platform.publish(tiny_bundle(catalog.current_version(catalog_db) + 1))
    _debug_everywhere(caplog)

    item = next(i for i in sample_bundle["items"] if i["code"] == "SCDJ-XK-004")
    scan = tmp_path / "scan.jpg"
    scan.write_bytes(b"\xff\xd8 scan of " + ID_NUMBER.encode())
    states = [MaterialState(n, pages=(str(scan),)) for n, _ in enumerate(item["guide"]["materials"])]
    answers = {"applicant_type": "person", "name": NAME, "id_number": ID_NUMBER, "phone": PHONE}
    assert form_for_item(item)
    agent = _agent(platform, url, tmp_path / "terminal", token)
    app = file_reviewed(catalog_db, agent.config, item, answers, states, agent.blobs_dir,
                        today=date(2026, 12, 7))

    report = agent.run_round(catalog_db, force=True)  # catalog, push, status pull, heartbeat
    assert report.online and report.errors == [], report.errors
    assert report.pushed["application"] == 1 and report.status_changes >= 1
    assert platform.query("SELECT COUNT(*) FROM applications")[0][0] == 1

    # A record the platform refuses (filed as another terminal than the token's): logged.
    other = _agent(platform, url, tmp_path / "other", token, terminal_id="K09")
    file_reviewed(catalog_db, other.config, item, answers, states, other.blobs_dir,
                  today=date(2026, 12, 7))
    assert other.run_round(catalog_db, force=True).failed["application"] == 1
    # A wrong token: refused, logged.
    bad = _agent(platform, url, tmp_path / "bad", "wrong-" + token[:-6])
    assert "AuthRejected" in bad.run_round(catalog_db, force=True).errors[0]

    logged = _everything_logged(caplog)
    assert "urllib3" in {r.name.split(".")[0] for r in caplog.records}  # the wire was logged
    assert "rejected" in logged and "AuthRejected" in logged and app.number
    for secret in (token, token[:16], "wrong-" + token[:-6], ID_NUMBER, NAME, PHONE):
        assert secret not in logged, f"{secret[:4]}… appears in the log"


@pytest.mark.pty  # the simulated card reader is a pseudo-terminal
def test_card_reads_and_every_reader_fault_log_nothing_personal(caplog):
    _debug_everywhere(caplog)
    sim = SimulatedReader(CARD)
    reader = SerialIdCardReader(sim.port, 115200, timeout=0.3)
    try:
        assert reader.read_card(today=date(2026, 12, 7)).id_number == ID_NUMBER
        for fault in FAULTS:
            sim.fail_next(fault)
            try:
                reader.read_card(today=date(2026, 12, 7))
            except IdCardError as exc:
                logging.getLogger("kiosk.test").warning("card read failed: %s", exc)
        assert reader.state().ok
    finally:
        reader.close()
        sim.close()
    logged = _everything_logged(caplog)
    assert "card read failed" in logged
    for secret in SECRETS_OF_CARD:
        assert secret not in logged, f"{secret} appears in the log"
