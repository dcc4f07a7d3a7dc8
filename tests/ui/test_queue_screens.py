"""The queue's screens offscreen with pytest-qt: the kiosk's ticket flow (online, offline,
appointment, lookup), every counter button and shortcut, the hall board updating and speaking,
and the statistics page. The hall queue is the in-process twin (kiosk.platform.hall_queue)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from kiosk import catalog, staff
from kiosk import queue as q
from kiosk.config import Config, QueueConfig
from kiosk.platform.db import PlatformDB
from kiosk.platform.hall_queue import InProcessHallQueue
from kiosk.store import open_store
from kiosk.ui.queue_services import QueueServices
from kiosk.ui.theme import TOUCH_MIN


def tap(qtbot, button):
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.fixture
def open_db(tmp_path, sample_bundle):
    def open_():
        db = open_store(tmp_path / "kiosk.db")
        if catalog.current_version(db) is None:
            catalog.apply_bundle(db, sample_bundle, source="test", validate=False)
        return db
    open_().conn.close()
    return open_


@pytest.fixture
def kiosk(qtbot, tmp_path, open_db):
    """The kiosk window with the hall queue (demo: the twin on a file) and simulated printer."""
    from kiosk.ui.app import build_kiosk, shutdown_services

    window, _ = build_kiosk(open_db, Config(fullscreen=False), data_dir=tmp_path,
                            demo_queue=True)
    qtbot.addWidget(window)
    window.show()
    yield window
    shutdown_services(window.services)


def hall_of(tmp_path, terminal="K02"):
    return InProcessHallQueue(PlatformDB(tmp_path / "demo-hall-queue.db"), "H0001", terminal)


def set_reachable(qtbot, window, reachable: bool):
    done = []
    window.services.queue.worker.submit(lambda ctx: setattr(ctx.queue, "reachable", reachable),
                                        lambda _: done.append(1))
    qtbot.waitUntil(lambda: bool(done))


def take_number(qtbot, window, letter="A", item=1):
    tap(qtbot, window.home.tiles["tile.ticket"])
    flow = window.tickets
    qtbot.waitUntil(lambda: window.stack.currentWidget() is flow.choose
                    and letter in flow.choose.category_buttons)
    # click(), not a mouse press: in a scrollable list the touch scroller takes a synthetic
    # press-release for the start of a drag (a real finger tap still clicks).
    flow.choose.category_buttons[letter].click()
    flow.choose.item_buttons[item].click()
    qtbot.waitUntil(lambda: flow.result.ticket is not None, timeout=5000)
    qtbot.waitUntil(lambda: flow.result.print_state in ("printed", "failed"), timeout=10000)
    return flow.result.ticket


def test_take_a_number_shows_it_with_the_wait_and_prints_it(qtbot, kiosk, tmp_path):
    """GIVEN two visitors already waiting in A WHEN a visitor taps "take a number", A, and an
    item THEN the screen shows A003, 2 ahead, the estimate, and the ticket is printed."""
    other = hall_of(tmp_path)
    for _ in range(2):
        other.issue({"request_id": str(uuid.uuid4()), "category": "A"})
    tap(qtbot, kiosk.home.tiles["tile.ticket"])
    flow = kiosk.tickets
    qtbot.waitUntil(lambda: "A" in flow.choose.category_buttons
                    and "2 人等候" in flow.choose.category_buttons["A"].text())
    assert "0 人等候" in flow.choose.category_buttons["B"].text()
    assert all(b.height() >= TOUCH_MIN for b in flow.choose.category_buttons.values())
    ticket = take_number(qtbot, kiosk, "A", 1)
    assert ticket.number == "A003" and ticket.item_code == "SCDJ-XK-001"
    result = flow.result
    assert result.number.text() == "A003"
    assert "前面还有 2 人等候" in result.wait.text() and "10 分钟" in result.wait.text()
    assert "有限责任公司设立登记" in result.item.text()
    assert result.print_state == "printed" and not result.offline.isVisible()
    assert list((tmp_path / "printed").glob("*.png"))
    tap(qtbot, result.done_button)
    assert kiosk.stack.currentWidget() is kiosk.home


def test_offline_the_kiosk_says_so_and_issues_from_its_block(qtbot, kiosk, tmp_path):
    set_reachable(qtbot, kiosk, False)
    ticket = take_number(qtbot, kiosk, "B", 0)
    assert ticket.number == "B-K01-001" and ticket.offline
    result = kiosk.tickets.result
    assert result.offline.isVisible() and "预留号段" in result.offline.text()
    assert "大约" in result.wait.text() or "马上" in result.wait.text()
    set_reachable(qtbot, kiosk, True)
    kiosk.services.queue.push_offline()
    hall = hall_of(tmp_path)
    qtbot.waitUntil(lambda: any(t["number"] == "B-K01-001" for t in hall.tickets()),
                    timeout=5000)


def test_english_visitor_and_a_double_tap_take_one_number(qtbot, kiosk, tmp_path):
    kiosk.set_language("en")
    tap(qtbot, kiosk.home.tiles["tile.ticket"])
    flow = kiosk.tickets
    qtbot.waitUntil(lambda: "C" in flow.choose.category_buttons)
    tap(qtbot, flow.choose.category_buttons["C"])
    flow.choose.item_buttons[0].click()
    flow.choose.item_buttons[0].click()
    qtbot.waitUntil(lambda: flow.result.ticket is not None)
    qtbot.waitUntil(lambda: flow.result.print_state == "printed", timeout=10000)
    assert flow.result.caption.text() == "Your queue number"
    assert "next" in flow.result.wait.text()
    assert [t["number"] for t in hall_of(tmp_path).tickets()] == ["C001"]


@pytest.mark.usefixtures("midday_in_the_hall")
def test_appointment_code_typed_or_scanned(qtbot, kiosk, tmp_path):
    now = q.utc_now()
    hall_of(tmp_path).add_appointment({"code": "YY20261207", "category": "E",
                                       "slot_start": q.iso(now - timedelta(minutes=5)),
                                       "slot_end": q.iso(now + timedelta(minutes=25))})
    tap(qtbot, kiosk.home.tiles["tile.ticket"])
    flow = kiosk.tickets
    qtbot.waitUntil(lambda: kiosk.stack.currentWidget() is flow.choose)
    tap(qtbot, flow.choose.appointment_button)
    screen = flow.appointment
    assert kiosk.stack.currentWidget() is screen
    for ch in "yy2026":
        tap(qtbot, screen.keyboard.keys[ch])
    tap(qtbot, screen.submit_button)
    qtbot.waitUntil(lambda: screen.problem)
    assert "没有找到这个预约码" in screen.answer.text()
    screen.field.clear()
    screen.field.setFocus()
    qtbot.keyClicks(screen.field, "YY20261207")   # what a keyboard-wedge scanner types
    qtbot.keyClick(screen.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: flow.result.ticket is not None)
    assert flow.result.ticket.number == "E001" and flow.result.slot.isVisible()
    assert "预约时段" in flow.result.slot.text()
    assert kiosk.stack.currentWidget() is flow.result
    qtbot.waitUntil(lambda: flow.result.print_state == "printed", timeout=10000)


def test_find_a_number_again(qtbot, kiosk, tmp_path):
    ticket = take_number(qtbot, kiosk, "A", 0)
    kiosk.go_home()
    tap(qtbot, kiosk.home.tiles["tile.ticket"])
    flow = kiosk.tickets
    qtbot.waitUntil(lambda: kiosk.stack.currentWidget() is flow.choose)
    tap(qtbot, flow.choose.lookup_button)
    for ch in "a1":
        tap(qtbot, flow.lookup.keyboard.keys[ch])
    tap(qtbot, flow.lookup.submit_button)
    qtbot.waitUntil(lambda: ticket.number in flow.lookup.answer.text())
    assert "正在等候" in flow.lookup.answer.text()
    hall_of(tmp_path, "W01").call_next(5, str(uuid.uuid4()), ["A"])
    tap(qtbot, flow.lookup.submit_button)
    qtbot.waitUntil(lambda: "5 号窗口" in flow.lookup.answer.text())
    flow.lookup.field.setText("Z9")
    tap(qtbot, flow.lookup.submit_button)
    qtbot.waitUntil(lambda: flow.lookup.problem)


def test_idle_reset_clears_the_ticket_screens(qtbot, kiosk):
    take_number(qtbot, kiosk, "A", 0)
    kiosk.tickets.lookup.field.setText("A001")
    kiosk.reset_for_next_visitor()
    assert kiosk.tickets.result.ticket is None and kiosk.tickets.result.number.text() == ""
    assert kiosk.tickets.lookup.field.text() == ""
    assert kiosk.stack.currentWidget() is kiosk.home


def test_back_goes_from_items_to_categories(qtbot, kiosk):
    tap(qtbot, kiosk.home.tiles["tile.ticket"])
    flow = kiosk.tickets
    qtbot.waitUntil(lambda: "D" in flow.choose.category_buttons)
    tap(qtbot, flow.choose.category_buttons["D"])
    assert flow.choose.pages.currentIndex() == 1
    tap(qtbot, kiosk.back_button)
    assert flow.choose.pages.currentIndex() == 0 and kiosk.stack.currentWidget() is flow.choose


# --- counter ---------------------------------------------------------------------------------------

@pytest.fixture
def pdb(tmp_path):
    db = PlatformDB(tmp_path / "hall.db")
    yield db
    db.close()


def queue_services(qtbot, pdb, open_db, terminal, config):
    services = QueueServices(config, open_db, lambda: InProcessHallQueue(pdb, "H0001", terminal),
                             push_ms=0)
    return services


@pytest.fixture
def counter(qtbot, pdb, open_db):
    from kiosk.ui.counter_window import CounterWindow

    db = open_db()
    staff.add_staff(db, "S001", "王芳", "2468")
    db.conn.close()
    config = Config(fullscreen=False, queue=QueueConfig(window=3, categories="AB", poll_ms=200))
    services = queue_services(qtbot, pdb, open_db, "W03", config)
    window = CounterWindow(services, config)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: bool(window.signin.category_boxes))
    yield window
    services.shutdown()


def sign_in(qtbot, window, pin="2468"):
    window.signin.staff_field.setText("S001")
    window.signin.pin_field.setText(pin)
    tap(qtbot, window.signin.submit_button)


def issue(pdb, *cats):
    kiosk = InProcessHallQueue(pdb, "H0001", "K01")
    return [kiosk.issue({"request_id": str(uuid.uuid4()), "category": c})["ticket"]["number"]
            for c in cats]


def settled(qtbot, desk):
    qtbot.waitUntil(lambda: not desk.busy and desk.state is not None)


def test_counter_sign_in_refuses_a_wrong_pin(qtbot, counter):
    assert counter.signin.window_field.value() == 3
    assert [c for c, b in counter.signin.category_boxes.items() if b.isChecked()] == ["A", "B"]
    sign_in(qtbot, counter, "0000")
    qtbot.waitUntil(lambda: counter.signin.message.isVisible())
    assert "不正确" in counter.signin.message.text()
    assert counter.stack.currentWidget() is counter.signin


def test_every_counter_button(qtbot, counter, pdb):
    """GIVEN four visitors WHEN the clerk uses call, start, finish, recall, no-show, transfer
    (by button and by F-key) THEN the hall queue records each and the screen follows."""
    issue(pdb, "A", "A", "B", "A")
    sign_in(qtbot, counter)
    desk = counter.desk
    qtbot.waitUntil(lambda: counter.stack.currentWidget() is desk)
    settled(qtbot, desk)
    assert "3 号窗口" in desk.header.text() and "王芳" in desk.header.text()
    assert not desk.buttons["finish"].isEnabled()
    tap(qtbot, desk.buttons["call_next"])
    settled(qtbot, desk)
    assert desk.number.text() == "A001" and "已叫号" in desk.state_label.text()
    tap(qtbot, desk.buttons["start"])
    qtbot.waitUntil(lambda: desk.state_label.text() == "正在办理")
    tap(qtbot, desk.buttons["finish"])
    qtbot.waitUntil(lambda: desk.number.text() == "—")
    qtbot.keyClick(counter, Qt.Key.Key_F1)                   # call next by keyboard
    qtbot.waitUntil(lambda: desk.number.text() == "A002")
    qtbot.keyClick(counter, Qt.Key.Key_F2)                   # recall
    qtbot.waitUntil(lambda: desk.current() is not None and desk.current()["recalls"] == 1)
    tap(qtbot, desk.buttons["no_show"])
    qtbot.waitUntil(lambda: desk.number.text() == "—")
    tap(qtbot, desk.buttons["call_next"])
    qtbot.waitUntil(lambda: desk.number.text() == "B001")
    tap(qtbot, desk.buttons["transfer"])
    assert desk.pages.currentIndex() == 1
    tap(qtbot, desk.transfer_cancel)
    assert desk.pages.currentIndex() == 0
    qtbot.keyClick(counter, Qt.Key.Key_F5)
    assert desk.pages.currentIndex() == 1
    desk.transfer_window.setValue(8)
    tap(qtbot, desk.transfer_window_button)
    qtbot.waitUntil(lambda: desk.number.text() == "—" and not desk.busy)
    qtbot.keyClick(counter, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: desk.number.text() == "A003")
    qtbot.keyClick(counter, Qt.Key.Key_F6)                   # start
    qtbot.waitUntil(lambda: desk.current()["state"] == "serving")
    qtbot.keyClick(counter, Qt.Key.Key_F4)                   # finish
    qtbot.waitUntil(lambda: desk.number.text() == "—" and not desk.busy)
    tap(qtbot, desk.buttons["call_next"])
    qtbot.waitUntil(lambda: "没有等候" in desk.state_label.text())
    states = {(t["number"], bool(t["transferred_from"])): t["state"]
              for t in InProcessHallQueue(pdb, "H0001", "x").tickets()}
    assert states == {("A001", False): "done", ("A002", False): "no_show",
                      ("B001", False): "transferred", ("B001", True): "waiting",
                      ("A003", False): "done"}


def test_counter_priority_mark_and_waiting_counts(qtbot, counter, pdb):
    issue(pdb, "A", "A", "B")
    sign_in(qtbot, counter)
    desk = counter.desk
    settled(qtbot, desk)
    qtbot.waitUntil(lambda: "A 2" in desk.waiting_label.text() and "B 1" in desk.waiting_label.text())
    desk.priority_field.setText("A2")
    tap(qtbot, desk.priority_button)
    qtbot.waitUntil(lambda: "已标记为优先" in desk.status.text())
    tap(qtbot, desk.buttons["call_next"])
    qtbot.waitUntil(lambda: desk.number.text() == "A002")
    assert "优先" in desk.tags.text()


def test_counter_offline_keeps_the_visitor_and_sends_later(qtbot, pdb, open_db):
    from kiosk.ui import counter_window
    from kiosk.ui.counter_window import CounterWindow

    db = open_db()
    staff.add_staff(db, "S001", "王芳", "2468")
    db.conn.close()
    issue(pdb, "A", "A")
    config = Config(fullscreen=False, queue=QueueConfig(window=2, categories="A"))
    link = InProcessHallQueue(pdb, "H0001", "W02")
    services = QueueServices(config, open_db, lambda: link, push_ms=0)
    window = CounterWindow(services, config)
    qtbot.addWidget(window)
    window.show()
    window.desk.flush_timer.setInterval(50)
    qtbot.waitUntil(lambda: bool(window.signin.category_boxes))
    sign_in(qtbot, window)
    desk = window.desk
    settled(qtbot, desk)
    tap(qtbot, desk.buttons["call_next"])
    qtbot.waitUntil(lambda: desk.number.text() == "A001")
    link.reachable = False
    tap(qtbot, desk.buttons["finish"])
    qtbot.waitUntil(lambda: desk.state.offline and desk.status.isVisible())
    assert "已保存 1 项操作" in desk.status.text()
    tap(qtbot, desk.buttons["call_next"])
    qtbot.waitUntil(lambda: desk.state.pending == 2)
    link.reachable = True
    qtbot.waitUntil(lambda: desk.number.text() == "A002", timeout=5000)
    assert not desk.status.isVisible()
    assert counter_window.FLUSH_MS > 0
    services.shutdown()


# --- display ---------------------------------------------------------------------------------------

@pytest.fixture
def display(qtbot, pdb, open_db):
    from kiosk.ui.announcer import Announcer
    from kiosk.ui.display_window import DisplayWindow

    config = Config(fullscreen=False, queue=QueueConfig(poll_ms=100, announce_en=True,
                                                        tts_engine="mock"))
    services = queue_services(qtbot, pdb, open_db, "D01", config)
    announcer = Announcer.for_config(config)
    window = DisplayWindow(services, config, announcer)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.poll.stop()
    services.shutdown()


def test_display_updates_highlights_and_speaks_new_calls(qtbot, display, pdb):
    """GIVEN the board WHEN a window calls A001 THEN it fills the board, highlighted, and is
    spoken in Mandarin then English; calls made before the board started are not spoken."""
    spoken: list[str] = []
    display.announcer.spoken.connect(spoken.append)
    qtbot.waitUntil(lambda: display.board is not None)
    assert display.now_number.text() == "—" and not display.fresh
    issue(pdb, "A", "A", "B")
    counter_ = InProcessHallQueue(pdb, "H0001", "W03")
    counter_.call_next(3, str(uuid.uuid4()), ["A"])
    qtbot.waitUntil(lambda: display.now_number.text() == "A001")
    assert display.announcer.backend == "qt:mock"
    qtbot.waitUntil(lambda: len(spoken) == 2, timeout=5000)
    spoken.clear()
    counter_.call_next(3, str(uuid.uuid4()), ["A"])
    qtbot.waitUntil(lambda: display.now_number.text() == "A002")
    assert display.fresh and display.now_panel.property("fresh") == "true"
    assert "请 A002 号到 3 号窗口办理" in display.now_sentence.text()
    qtbot.waitUntil(lambda: len(spoken) == 2, timeout=5000)
    assert spoken == ["请 A002 号到 3 号窗口办理", "Number A002, please go to window 3."]
    assert display.recent_cells == [("A001", 3)]
    assert display.category_rows == {"A": 0, "B": 1}
    # A board that starts with calls already made does not read them out again.
    display.last_seq = None
    display.show_board(counter_.board())
    assert len(spoken) == 2


def test_display_says_when_the_hall_queue_is_unreachable(qtbot, pdb, open_db):
    from kiosk.ui.announcer import Announcer
    from kiosk.ui.display_window import DisplayWindow

    link = InProcessHallQueue(pdb, "H0001", "D01")
    link.reachable = False
    config = Config(fullscreen=False, queue=QueueConfig(poll_ms=100, tts_engine="none"))
    services = QueueServices(config, open_db, lambda: link, push_ms=0)
    window = DisplayWindow(services, config, Announcer.for_config(config))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.online)
    assert window.status.text() == "正在连接大厅排队系统……"
    link.reachable = True
    qtbot.waitUntil(lambda: window.online)
    window.poll.stop()
    services.shutdown()


def test_announcer_falls_back_to_espeak(qtbot, tmp_path):
    """GIVEN no QtTextToSpeech engine chosen WHEN espeak-ng is installed THEN it speaks the
    call (here into a WAV file instead of the sound card)."""
    import shutil

    from kiosk.ui.announcer import Announcer

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/setup.sh installs it)")
    wav = tmp_path / "call.wav"
    announcer = Announcer("no-such-engine", espeak_args=["-w", str(wav)])
    assert announcer.backend == "espeak"
    announcer.announce("A012", 3)
    announcer.wait_idle()
    assert wav.stat().st_size > 10_000


def test_announcer_can_be_silent(qtbot):
    from kiosk.ui.announcer import Announcer

    announcer = Announcer("none")
    spoken: list[str] = []
    announcer.spoken.connect(spoken.append)
    announcer.announce("A001", 1)
    assert announcer.backend == "silent" and spoken == ["请 A001 号到 1 号窗口办理"]


# --- statistics page ---------------------------------------------------------------------------

def test_stats_page_shows_rows_and_exports_csv(qtbot, pdb, open_db, tmp_path):
    from kiosk.ui.admin_window import ADMIN_PAGES, AdminContext
    from kiosk.ui.queue_stats_page import QueueStatsPage
    from kiosk.ui.services import Services
    from kiosk.ui.worker import StoreWorker

    issue(pdb, "A", "B", "B")
    InProcessHallQueue(pdb, "H0001", "W01").call_next(1, str(uuid.uuid4()), ["B"])
    config = Config(fullscreen=False)
    services = queue_services(qtbot, pdb, open_db, "A01", config)
    worker = StoreWorker(open_db)
    context = AdminContext(Services(worker), replace(config, language="en"),
                           {"queue_services": services, "data_dir": str(tmp_path)})
    assert "admin.queue.tab" in [key for key, _ in ADMIN_PAGES]
    page = QueueStatsPage(context)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    page.show()
    qtbot.waitUntil(lambda: bool(page.rows))
    assert page.table.rowCount() == len(page.rows) == 4  # hall, A, B, window 1
    assert page.table.item(0, 0).text() == "Hall" and page.table.item(0, 1).text() == "3"
    assert [r.key for r in page.chart.rows] == ["A", "B"]
    path = page.export()
    assert path.read_text(encoding="utf-8").startswith("day,scope,key,tickets")
    services.shutdown()
    worker.shutdown()


def test_ticket_screens_fit_a_landscape_panel(qtbot, tmp_path, open_db):
    """GIVEN a landscape kiosk (1920x1080) WHEN each ticket screen is shown, the result with the
    offline notice, in large text THEN the window stays 1080 high (nothing pushes it off)."""
    from kiosk.ui.app import build_kiosk, shutdown_services

    window, _ = build_kiosk(open_db, Config(fullscreen=False, orientation="landscape"),
                            data_dir=tmp_path, demo_queue=True)
    qtbot.addWidget(window)
    window.show()
    try:
        set_reachable(qtbot, window, False)
        window.set_large_text(True)
        take_number(qtbot, window, "B", 0)
        flow = window.tickets
        for screen in (flow.choose, flow.result, flow.appointment, flow.lookup):
            window.show_screen(screen)
            qtbot.wait(10)
            assert (window.width(), window.height()) == (1920, 1080), type(screen).__name__
    finally:
        shutdown_services(window.services)
