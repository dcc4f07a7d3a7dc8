"""Durable print jobs: stored before sending, kept when the printer fails, printed once after."""

import pytest

from kiosk import print_jobs, receipts
from kiosk.devices.printer import Printer, load_model
from kiosk.devices.printer_sim import PrinterSimulator, SimulatedTransport
from kiosk.print_jobs import UnknownReceipt


def ticket(number="A001", lang="zh-Hans"):
    return receipts.queue_ticket(hall_name="市民服务中心", number=number, item_name="营业执照",
                                 waiting=2, issued_at="2026-12-07 09:30", terminal_id="K01",
                                 lang=lang)


@pytest.fixture
def sim_printer():
    sim = PrinterSimulator(576, 48)
    return sim, Printer(SimulatedTransport(sim), load_model("gb18030-80"), 80,
                        status_timeout=0.2)


def test_migration_made_the_table(db):
    assert "print_jobs" in db.table_names()
    assert "0004_print_jobs" in [r["name"] for r in db.query("SELECT name FROM _migrations")]


def test_job_is_stored_before_a_byte_is_sent(db, sim_printer):
    sim, printer = sim_printer
    seen = []

    class Watching(Printer):
        def send(self, data):
            seen.append([(j.receipt_no, j.state) for j in print_jobs.pending(db)])
            return super().send(data)

    watching = Watching(printer.transport, printer.model, 80, status_timeout=0.2)
    outcome = print_jobs.print_receipt(db, watching, ticket(), window="3")
    assert seen == [[("A001", "sending")]]
    assert outcome.printed and outcome.message is None
    assert print_jobs.print_count(db, "A001") == 1
    assert len(sim.printed) == 1


def test_failed_job_stays_queued_and_the_visitor_is_told_where_to_go(db, sim_printer):
    sim, printer = sim_printer
    sim.paper = "out"
    outcome = print_jobs.print_receipt(db, printer, ticket("A002"), window="3")
    assert not outcome.printed
    assert outcome.message == ("打印机暂时无法出纸，您办理的事项已保存，不会丢失。请到 3 号窗口，"
                               "工作人员可凭编号 A002 为您补打。")
    assert outcome.job.state == "queued" and outcome.job.attempts == 1
    assert "paper out" in outcome.job.last_error
    assert print_jobs.failure_message("A002", "en", "3").startswith("The printer cannot print")
    assert "A002" in print_jobs.failure_message("A002", "zh-Hant", "3")


def test_jobs_print_in_order_exactly_once_after_recovery(db, sim_printer):
    sim, printer = sim_printer
    sim.cover_open = True
    for n in ("A003", "A004", "A005"):
        print_jobs.print_receipt(db, printer, ticket(n), window="1")
    assert print_jobs.pending_count(db) == 3
    assert sim.pages == []
    sim.cover_open = False
    result = print_jobs.process(db, printer)
    assert len(result.printed) == 3 and result.remaining == 0
    assert [p.text().splitlines()[2] for p in sim.printed] == ["A003", "A004", "A005"]
    assert print_jobs.process(db, printer).printed == []  # nothing printed twice
    assert len(sim.printed) == 3


def test_paper_out_mid_receipt_reprints_whole_after_reload(db, sim_printer):
    sim, printer = sim_printer
    sim.run_out_after = 60
    outcome = print_jobs.print_receipt(db, printer, ticket("A006"), window="1")
    assert not outcome.printed
    assert sim.printed == [] and len(sim.received) > 60
    sim.paper = "ok"
    assert len(print_jobs.process(db, printer).printed) == 1
    assert len(sim.printed) == 1 and "A006" in sim.printed[0].text()
    assert print_jobs.print_count(db, "A006") == 1


def test_reprint_is_a_new_copy_marked_as_such(db, sim_printer):
    sim, printer = sim_printer
    print_jobs.print_receipt(db, printer, ticket("A007"), window="1")
    job = print_jobs.reprint(db, "A007")
    assert job.copy == 2
    print_jobs.process(db, printer)
    print_jobs.reprint(db, "A007")
    print_jobs.process(db, printer)
    assert print_jobs.print_count(db, "A007") == 3
    assert "补打 · 第 2 份" in sim.printed[1].text()
    assert "补打 · 第 3 份" in sim.printed[2].text()
    with pytest.raises(UnknownReceipt):
        print_jobs.reprint(db, "Z999")


def test_interrupted_job_is_queued_again(db):
    job = print_jobs.enqueue(db, ticket("A008"))
    db.execute("UPDATE print_jobs SET state = 'sending' WHERE id = ?", [job.id])
    assert print_jobs.recover_interrupted(db) == 1
    again = print_jobs.get_job(db, job.id)
    assert again.state == "queued" and "interrupted" in again.last_error


def test_no_printer_at_all_keeps_the_job(db):
    outcome = print_jobs.print_receipt(db, None, ticket("A009"), window="2")
    assert not outcome.printed and "A009" in outcome.message
    assert print_jobs.pending_count(db) == 1


def test_document_round_trips_through_the_store(db):
    doc = ticket("A010")
    job = print_jobs.enqueue(db, doc)
    stored = db.execute("SELECT document FROM print_jobs WHERE id = ?", [job.id]).fetchone()[0]
    assert receipts.Document.from_json(stored) == doc


def test_cancel(db):
    job = print_jobs.enqueue(db, ticket("A011"))
    print_jobs.cancel(db, job.id)
    assert print_jobs.pending_count(db) == 0


def test_a_broken_document_does_not_block_the_queue(db, sim_printer):
    sim, printer = sim_printer
    broken = print_jobs.enqueue(db, ticket("A012"))
    db.execute("UPDATE print_jobs SET document = '{\"kind\": 1}' WHERE id = ?", [broken.id])
    db.conn.commit()
    print_jobs.enqueue(db, ticket("A013"))
    result = print_jobs.process(db, printer)
    assert len(result.printed) == 1 and "A013" in sim.printed[0].text()
    kept = print_jobs.get_job(db, broken.id)
    assert kept.state == "queued" and kept.last_error.startswith("internal:")
