"""The platform anchors a terminal's audit chain: a real server process on loopback, a real
terminal store synced through the outbox, then an insider rewrites the whole local chain
consistently (every record re-hashed from the first, and the local copies with it), as
sqlite3 on the file would. Only the platform's anchor shows it, through the real CLI."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from platform_process import kiosk_cli
from sync_e2e_tools import make_terminal, server_rows

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from sync_support import rewrite_whole_chain  # noqa: E402  (shared with the unit test)

from kiosk import audit, staff
from kiosk.applications import file_application


def test_a_consistently_rewritten_chain_fails_only_against_the_platform_anchor(
        platform_server, tmp_path):
    terminal = make_terminal(tmp_path / "k01", platform_server)
    staff.add_staff(terminal.db, "S001", "王芳", "2468")
    staff.verify(terminal.db, "S001", "2468")
    app = file_application(terminal.db, terminal.config, "SCJG-XK-001", {"name": "张三"}, {},
                           [], terminal.agent.blobs_dir)
    terminal.drain()
    head = audit.records(terminal.db)[-1]
    terminal.db.conn.close()
    # The platform verified the chain link by link up to the terminal's newest record.
    (anchor_seq, anchor_hash), = server_rows(
        platform_server.db_path, "SELECT seq, hash FROM audit_anchors WHERE terminal_id = 'K01'")
    assert (anchor_seq, anchor_hash) == (head["seq"], head["hash"])
    assert anchor_seq >= 4  # staff.add, staff.signin, application.filed, application.status
    data = ["--data-dir", str(terminal.data_dir)]
    clean = kiosk_cli(*data, "admin", "audit", "verify", "--server")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"platform anchor: {anchor_seq}:{anchor_hash}" in clean.stdout
    assert "ok: the chain is whole" in clean.stdout

    conn = sqlite3.connect(terminal.data_dir / "kiosk.db")
    rewrite_whole_chain(conn)
    conn.close()

    fooled = kiosk_cli(*data, "admin", "audit", "verify")
    assert fooled.returncode == 0, fooled.stdout  # consistent locally: nothing to see here
    caught = kiosk_cli(*data, "admin", "audit", "verify", "--server", platform_server.url)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert (f"edited: record {anchor_seq} no longer matches the copy held outside this terminal"
            in caught.stdout)
    assert "TAMPERED" in caught.stdout
    # No personal field went to the platform with the audit records.
    held = " ".join(p for (p,) in server_rows(platform_server.db_path,
                                              "SELECT payload FROM events WHERE type = 'audit'"))
    assert app.number in held and "张三" not in held and "王芳" not in held


def test_another_terminals_token_cannot_read_the_anchor(platform_server, tmp_path):
    k01 = make_terminal(tmp_path / "k01", platform_server)
    k02 = make_terminal(tmp_path / "k02", platform_server, terminal_id="K02")
    audit.append(k01.db, "S001", "test.action")
    k01.drain()
    from kiosk.sync.errors import AuthRejected

    try:
        k02.agent.client.get_audit_anchor("H0001", "K01")
    except AuthRejected as exc:
        assert "403" in str(exc)
    else:
        raise AssertionError("K02 read K01's anchor")
    assert k01.agent.client.get_audit_anchor("H0001", "K01")["seq"] == 1
    k01.db.conn.close()
    k02.db.conn.close()
