"""Encryption at rest wired in: no personal field or scan in plaintext on disk, rotation keeps
every record readable, an upgraded plaintext store is encrypted, the platform gets plaintext."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sync_support import InProcessPlatform

from kiosk import atrest, crypto, freetext, rekey
from kiosk.__main__ import main
from kiosk.applications import (
    canonical_dumps,
    file_application,
    get_application,
    outbox_context,
    read_blob,
    status_history,
)
from kiosk.config import Config
from kiosk.idnumbers import is_valid_resident_id
from kiosk.platform.server import blob_path as platform_blob_path
from kiosk.progress import progress_of_person, record_evaluation
from kiosk.review import decide
from kiosk.store import MIGRATIONS, open_store, set_setting
from kiosk.sync.outbox import push
from kiosk.sync.status import pull_status

CONFIG = Config(hall_id="H0001", terminal_id="K01")
ID_NUMBER = "11010519491231002X"
NAME = "张三丰"
PHONE = "13912345678"
ADDRESS = "成都市锦江区红星路三段1号"
MARKER = b"SCAN-MARKER-5f1d2c"
COMMENT = "评价备注-张三丰来过-7c1e"  # an evaluation's free text (may name a person)
REASON = "退回原因-申请人李四-4b7a"  # a clerk's return reason (may name a person)


def scans() -> list[bytes]:
    return [b"\xff\xd8 page one " + MARKER + b" \xff\xd9", b"%PDF-1.4 page two " + MARKER * 3]


def file_one(db, blobs: Path, id_number: str = ID_NUMBER, name: str = NAME):
    applicant = {"applicant_type": "person", "name": name, "id_number": id_number,
                 "phone": PHONE, "address": ADDRESS}
    form = dict(applicant, shop_name=f"{name}小吃")
    return file_application(db, CONFIG, "SCJG-XK-001", applicant, form,
                            [{"material": "身份证", "data": data} for data in scans()], blobs,
                            prereview={"ok": True, "problems": []})


def secrets_found(data_dir: Path) -> list[str]:
    """Every file of the data directory (store, WAL, backups, scans) that holds a secret."""
    needles = {"id number": ID_NUMBER.encode(), "id number (lower x)": ID_NUMBER.lower().encode(),
               "name": NAME.encode(), "phone": PHONE.encode(), "address": ADDRESS.encode(),
               "scan": MARKER, "evaluation text": COMMENT.encode(),
               "decision reason": REASON.encode()}
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{label} in {path.relative_to(data_dir)}"
                  for label, needle in needles.items() if needle in data]
    return found


def test_the_id_number_is_a_valid_gb11643_number():
    assert is_valid_resident_id(ID_NUMBER)


def write_free_text(db, app) -> str:
    """An evaluation with a comment and a clerk's return with a reason; the evaluation's id."""
    decide(db, app.id, "return", "窗口3 (S003)", (), REASON)
    return record_evaluation(db, 2, ["long_wait"], COMMENT, application_number=app.number)


def test_no_personal_field_or_scan_is_readable_on_disk(tmp_path):
    """GIVEN an application filed with an ID number, name, phone, address and two scans, an
    evaluation comment and a clerk's return reason
    WHEN the raw bytes of the store, its WAL, a migration backup and every scan file are searched
    THEN none of them is found, while the program still reads every one of them."""
    db = open_store(tmp_path / "kiosk.db")
    app = file_one(db, tmp_path / "blobs")
    evaluation = write_free_text(db, app)
    assert (tmp_path / "kiosk.db-wal").exists()
    # A new migration backs the store up first: that backup must not be plaintext either.
    db2 = open_store(tmp_path / "kiosk.db", migrations=MIGRATIONS + [("9999_more", lambda d: None)])
    assert list(tmp_path.glob("*.bak"))

    assert secrets_found(tmp_path) == []
    stored = get_application(db2, app.id)
    assert stored.applicant == app.applicant and stored.applicant["name"] == NAME
    assert stored.status == "returned"
    keys = atrest.keys_for(db2)
    assert [read_blob(tmp_path / "blobs", m["sha256"], keys) for m in stored.materials] == scans()
    assert [m["sha256"] for m in stored.materials] == [
        hashlib.sha256(s).hexdigest() for s in scans()]  # still named by the plaintext's hash
    (payload,) = db2.execute("SELECT payload FROM outbox WHERE kind = 'application'").fetchone()
    assert payload.startswith(crypto.TEXT_PREFIX)
    assert json.loads(atrest.unseal(keys, payload, outbox_context(app.id))) == json.loads(
        canonical_dumps(app.wire()))
    assert status_history(db2, app.id)[-1]["detail"]["reason"] == REASON
    (stored_eval,) = db2.execute("SELECT payload FROM events WHERE id = ?", [evaluation]).fetchone()
    assert freetext.open_event(keys, "evaluation", evaluation,
                               json.loads(stored_eval))["text"] == COMMENT
    db.conn.close()
    db2.conn.close()


def test_free_text_survives_rotation_and_reaches_the_platform_as_written(tmp_path):
    """GIVEN an evaluation comment and a return reason sealed with key 1 WHEN the key is rotated
    in batches of one THEN both are sealed with key 2 only (key 1 retired), the platform receives
    them as written, and the reason pulled back with the platform's status is sealed too."""
    terminal = tmp_path / "kiosk"  # apart from the platform's files, which hold plaintext
    db = open_store(terminal / "kiosk.db")
    blobs = terminal / "blobs"
    app = file_one(db, blobs)
    evaluation = write_free_text(db, app)
    keys = atrest.keys_for(db)
    old = keys.current

    done = rekey.rotate(db, batch=1)

    assert done.retired == [old]
    # 3 fields + payload of the application, its 2 scans, the comment and the reason in the
    # event and outbox rows (4) and the reason in the status history.
    assert dict(rekey.usage(db, None, keys)) == {done.new_key: 4 + 2 + 4 + 1}
    platform = InProcessPlatform(tmp_path / "platform")
    try:
        result = push(db, platform.client(platform.enroll("H0001", "K01")), blobs)
        assert result.error is None and result.failed == {"blob": 0, "application": 0, "event": 0}
        (sent,) = platform.query("SELECT payload FROM events WHERE id = ?", (evaluation,))[0]
        assert json.loads(sent)["text"] == COMMENT
        (data,) = platform.query("SELECT data FROM decisions")[0]
        assert json.loads(data)["reason"] == REASON
        assert pull_status(db, platform.client(platform.enroll("H0001", "K01"))) >= 1
    finally:
        platform.close()
    pulled = [h for h in status_history(db, app.id) if h["source"] == "platform"]
    assert pulled and pulled[-1]["detail"]["reason"] == REASON
    assert secrets_found(terminal) == []
    db.conn.close()


def test_free_text_written_by_the_previous_version_is_sealed_on_upgrade(tmp_path):
    """A comment and a reason stored in plaintext before 0009 are sealed by the migration."""
    before = [m for m in MIGRATIONS if m[0] < "0009"]
    db = open_store(tmp_path / "kiosk.db", migrations=before)
    app = file_one(db, tmp_path / "blobs")
    payload = {"stars": 2, "reasons": ["long_wait"], "text": COMMENT, "terminal_id": "K01"}
    wire = {"id": "ev-1", "type": "evaluation", "at": "2026-12-07T01:00:00", "payload": payload}
    db.execute("INSERT INTO events VALUES ('ev-1', 'evaluation', '2026-12-07T01:00:00', ?)",
               [canonical_dumps(payload)])
    db.execute("INSERT INTO outbox (kind, ref, payload, created_at, next_attempt_at) "
               "VALUES ('event', 'ev-1', ?, 'x', 'x')", [canonical_dumps(wire)])
    db.execute("INSERT INTO application_status (application_id, number, status, at, detail, "
               "source) VALUES (?, ?, 'returned', '2026-12-07T02:00:00', ?, 'platform')",
               [app.id, app.number, canonical_dumps({"reason": REASON})])
    db.conn.commit()
    db.conn.close()
    assert secrets_found(tmp_path)

    db = open_store(tmp_path / "kiosk.db")

    assert secrets_found(tmp_path) == []
    keys = atrest.keys_for(db)
    (stored,) = db.execute("SELECT payload FROM outbox WHERE ref = 'ev-1'").fetchone()
    assert freetext.open_wire(keys, json.loads(stored)) == wire
    returned = [h for h in status_history(db, app.id) if h["status"] == "returned"]
    assert returned[0]["detail"] == {"reason": REASON}
    assert "plaintext" not in rekey.usage(db, None, keys)
    db.conn.close()


def test_lookup_by_id_card_uses_the_blind_index(db, tmp_path):
    mine = [file_one(db, tmp_path / "blobs") for _ in range(2)]
    file_one(db, tmp_path / "blobs", id_number="440524188001010014", name="李四")
    found = progress_of_person(db, ID_NUMBER.lower())
    assert sorted(p.application.id for p in found) == sorted(a.id for a in mine)
    assert progress_of_person(db, "110105194912310021") == []
    (index,) = db.execute("SELECT id_index FROM applications WHERE id = ?", [mine[0].id]).fetchone()
    assert len(index) == 64 and ID_NUMBER not in index


def test_a_ciphertext_moved_to_another_record_does_not_open(db, tmp_path):
    a, b = file_one(db, tmp_path / "blobs"), file_one(db, tmp_path / "blobs", name="李四")
    (sealed,) = db.execute("SELECT applicant FROM applications WHERE id = ?", [a.id]).fetchone()
    db.execute("UPDATE applications SET applicant = ? WHERE id = ?", [sealed, b.id])
    with pytest.raises(crypto.DecryptionFailed):
        get_application(db, b.id)
    # Nor is plaintext written around the program taken for the applicant's data.
    db.execute("UPDATE applications SET applicant = ? WHERE id = ?", ['{"name":"伪造"}', b.id])
    with pytest.raises(crypto.DecryptionFailed, match="unencrypted"):
        get_application(db, b.id)


def test_rotation_keeps_every_record_readable_then_retires_the_old_key(tmp_path):
    """GIVEN applications, scans and queued payloads sealed with key 1 WHEN the key is rotated
    in batches of one row THEN everything reads as before, all is sealed with key 2, and key 1
    is gone from the key file."""
    db = open_store(tmp_path / "kiosk.db")
    blobs = tmp_path / "blobs"
    apps = [file_one(db, blobs), file_one(db, blobs, id_number="440524188001010014")]
    keys = atrest.keys_for(db)
    old, old_secret = keys.current, keys.keys[keys.current]

    done = rekey.rotate(db, batch=1)

    assert done.retired == [old] and old not in keys.keys and keys.current == done.new_key
    assert done.rows == 2 + 2 and done.files == 2  # 2 applications, 2 payloads, 2 distinct scans
    key_file = json.loads((tmp_path / crypto.KEY_FILE).read_text())
    assert old not in key_file["keys"] and old_secret.hex() not in json.dumps(key_file)
    assert dict(rekey.usage(db, None, keys)) == {done.new_key: 2 * 3 + 2 + 2}
    for app in apps:
        assert get_application(db, app.id) == app
        (payload,) = db.execute("SELECT payload FROM outbox WHERE ref = ?", [app.id]).fetchone()
        assert keys.key_id_of(payload) == done.new_key
        assert json.loads(atrest.unseal(keys, payload, outbox_context(app.id)))["id"] == app.id
    for m in apps[0].materials:
        assert read_blob(blobs, m["sha256"], keys) in scans()
    assert len(progress_of_person(db, ID_NUMBER)) == 1  # the blind index follows the new key
    assert secrets_found(tmp_path) == []
    (action, subject, details), = db.execute(
        "SELECT action, subject, details FROM audit_log WHERE action LIKE 'admin.key%'").fetchall()
    assert (action, subject) == ("admin.key_rotation", done.new_key)
    assert json.loads(details) == {"rows": 4, "files": 2, "retired": [old]}


def test_another_process_rotating_is_picked_up_without_a_restart(db, tmp_path):
    """The running kiosk holds the ring in memory; a rotation made by ``kiosk admin keys
    rotate`` in another process is noticed (new filings use the new key, its values open)."""
    data_dir = tmp_path
    app = file_one(db, tmp_path / "blobs")
    mine = atrest.keys_for(db)
    other = crypto.KeyRing.open(atrest.key_store(data_dir))  # what another process loads
    other.rotate()
    sealed = other.encrypt_text("{}", "applications.form:x")
    assert atrest.unseal(mine, sealed, "applications.form:x") == "{}"  # reloads on an unknown key
    set_setting(db, atrest.CURRENT_SETTING, other.current)
    later = file_one(db, tmp_path / "blobs")
    (applicant,) = db.execute("SELECT applicant FROM applications WHERE id = ?",
                              [later.id]).fetchone()
    assert mine.key_id_of(applicant) == other.current
    assert get_application(db, app.id) == app


def test_a_plaintext_store_from_the_previous_version_is_encrypted_on_upgrade(tmp_path):
    """GIVEN a store, scan files, a captured page and a backup written by yesterday's version
    (no encryption) WHEN the new version opens it THEN migration 0007 seals everything, no
    plaintext is left in any file, and the program reads it all back."""
    before = [m for m in MIGRATIONS if m[0] < "0007"]
    db = open_store(tmp_path / "kiosk.db", migrations=before)
    applicant = {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE, "address": ADDRESS}
    materials = []
    for data in scans():
        sha = hashlib.sha256(data).hexdigest()
        (tmp_path / "blobs" / sha[:2]).mkdir(parents=True, exist_ok=True)
        (tmp_path / "blobs" / sha[:2] / sha).write_bytes(data)
        materials.append({"material": "身份证", "sha256": sha, "size": len(data)})
    page = scans()[0] + b" captured"
    page_sha = hashlib.sha256(page).hexdigest()
    (tmp_path / "blobs" / page_sha[:2]).mkdir(parents=True, exist_ok=True)
    (tmp_path / "blobs" / page_sha[:2] / f"{page_sha}.jpg").write_bytes(page)
    wire = {"id": "app-1", "number": "H0001-K01-20261207-0001", "applicant": applicant,
            "form": applicant, "materials": materials, "prereview": {}}
    db.execute("INSERT INTO applications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               ["app-1", wire["number"], "SCJG-XK-001", "H0001", "K01", "2026-12-07T01:00:00",
                canonical_dumps(applicant), canonical_dumps(applicant),
                canonical_dumps(materials), "{}", "filed", "2026-12-07T01:00:00"])
    db.execute("INSERT INTO outbox (kind, ref, payload, created_at, next_attempt_at) "
               "VALUES ('application', 'app-1', ?, 'x', 'x')", [canonical_dumps(wire)])
    db.conn.commit()
    db.execute("PRAGMA wal_checkpoint(FULL)")
    shutil.copy(tmp_path / "kiosk.db", tmp_path / "kiosk.db.before-0006_audit.bak")  # old, plain
    db.conn.close()
    assert secrets_found(tmp_path)  # the test's needles are really there before the upgrade

    db = open_store(tmp_path / "kiosk.db")

    assert secrets_found(tmp_path) == []
    app = get_application(db, "app-1")
    assert app.applicant == applicant and app.form == applicant
    keys = atrest.keys_for(db)
    assert [read_blob(tmp_path / "blobs", m["sha256"], keys) for m in materials] == scans()
    assert atrest.read_file(tmp_path / "blobs" / page_sha[:2] / f"{page_sha}.jpg", keys) == page
    assert [p.application.id for p in progress_of_person(db, ID_NUMBER)] == ["app-1"]
    (payload,) = db.execute("SELECT payload FROM outbox WHERE ref = 'app-1'").fetchone()
    assert json.loads(atrest.unseal(keys, payload, outbox_context("app-1"))) == wire
    old_backup = tmp_path / "restored-0006.db"
    rekey.open_backup(tmp_path / "kiosk.db.before-0006_audit.bak", old_backup, keys)
    assert sqlite3.connect(old_backup).execute("SELECT COUNT(*) FROM applications").fetchone() == (1,)
    assert dict(rekey.usage(db, None, keys)).get("plaintext") is None


def test_push_after_rotation_delivers_the_plaintext_filed(tmp_path):
    """The platform gets exactly the application and the scan bytes filed (decrypted just
    before sending; the SHA-256 check holds), also for records sealed before a rotation."""
    db = open_store(tmp_path / "kiosk.db")
    blobs = tmp_path / "blobs"
    app = file_one(db, blobs)
    rekey.rotate(db, batch=1, retire=False)
    later = file_one(db, blobs, id_number="440524188001010014")
    platform = InProcessPlatform(tmp_path / "platform")
    try:
        result = push(db, platform.client(platform.enroll("H0001", "K01")), blobs)
        assert result.error is None and result.sent["application"] == 2
        server = {row[0]: json.loads(row[1])
                  for row in platform.query("SELECT id, data FROM applications")}
        for filed in (app, later):
            assert server[filed.id] == json.loads(canonical_dumps(filed.wire()))
        for m, data in zip(app.materials, scans(), strict=True):
            assert platform_blob_path(platform.db.blob_dir, m["sha256"]).read_bytes() == data
    finally:
        platform.close()
        db.conn.close()


def test_cli_keys_status_and_rotate(tmp_path, capsys):
    db = open_store(tmp_path / "kiosk.db")
    file_one(db, tmp_path / "blobs")
    first = atrest.keys_for(db).current
    db.conn.close()
    assert main(["--data-dir", str(tmp_path), "admin", "keys", "status"]) == 0
    out = capsys.readouterr().out
    assert f"current key: {first}" in out and f"key {first}: 6 values" in out  # 3 fields+payload+2 scans
    assert main(["--data-dir", str(tmp_path), "admin", "keys", "rotate", "--batch", "1"]) == 0
    assert f"retired: {first}" in capsys.readouterr().out
    assert main(["--data-dir", str(tmp_path), "admin", "keys", "status"]) == 0
    assert first not in capsys.readouterr().out


def test_rotation_passes_over_applications_purged_by_retention(tmp_path):
    """A purged application holds retention's plaintext marker (nothing personal): rotation in
    batches of one skips it, still reaches the rows after it, and retires the old key."""
    db = open_store(tmp_path / "kiosk.db")
    purged, kept = file_one(db, tmp_path / "blobs"), file_one(db, tmp_path / "blobs")
    marker = '{"_purged_at":"2026-12-01T00:00:00.000+00:00"}'
    db.execute("UPDATE applications SET applicant = ?, form = ?, prereview = ? WHERE id = ?",
               [marker, marker, marker, purged.id])
    db.execute("UPDATE outbox SET payload = ? WHERE ref = ?", [marker, purged.id])
    db.conn.commit()
    old = atrest.keys_for(db).current

    done = rekey.rotate(db, batch=1)

    assert done.retired == [old]
    assert get_application(db, kept.id) == kept
    assert get_application(db, purged.id).applicant == {"_purged_at": "2026-12-01T00:00:00.000+00:00"}
    db.conn.close()


def test_a_keyring_appearing_later_does_not_replace_the_key_file(tmp_path, monkeypatch):
    """Keys live in the OS keyring when one is usable; but once a key file holds the keys in
    use, a keyring installed later must not start a new, empty ring."""

    class FakeKeyring:
        priority = 1

        def __init__(self):
            self.saved = {}

        def get_password(self, service, user):
            return self.saved.get((service, user))

        def set_password(self, service, user, text):
            self.saved[(service, user)] = text

    backend = FakeKeyring()
    monkeypatch.setattr(crypto, "os_keyring", lambda: backend)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    store = atrest.key_store(fresh)
    assert isinstance(store, crypto.KeyringStore) and str(fresh.resolve()) in store.user
    crypto.KeyRing.open(store)
    assert backend.saved and not (fresh / crypto.KEY_FILE).exists()

    (tmp_path / "old").mkdir()
    crypto.KeyRing.open(crypto.FileKeyStore(tmp_path / "old" / crypto.KEY_FILE))
    assert isinstance(atrest.key_store(tmp_path / "old"), crypto.FileKeyStore)


def test_typed_text_that_looks_sealed_is_still_sealed_and_sent_as_typed(tmp_path):
    """A visitor may type anything, even what looks like a ciphertext or a purge marker."""
    db = open_store(tmp_path / "kiosk" / "kiosk.db")
    looks = ["enc:v1:deadbeef:AAAA", '{"_purged_at":"x"}']
    ids = [record_evaluation(db, 3, [], text) for text in looks]
    keys = atrest.keys_for(db)
    for event_id, text in zip(ids, looks, strict=True):
        (wire,) = db.execute("SELECT payload FROM outbox WHERE ref = ?", [event_id]).fetchone()
        sealed = json.loads(wire)["payload"]["text"]
        assert sealed != text and keys.key_id_of(sealed) == keys.current
        assert freetext.open_wire(keys, json.loads(wire))["payload"]["text"] == text
    db.conn.close()


def test_a_sealed_text_that_does_not_open_is_failed_never_sent_garbled(tmp_path):
    db = open_store(tmp_path / "kiosk" / "kiosk.db")
    first, second = (record_evaluation(db, 3, [], text) for text in (COMMENT, "second"))
    (wire,) = db.execute("SELECT payload FROM outbox WHERE ref = ?", [first]).fetchone()
    moved = json.loads(wire)["payload"]["text"]  # sealed for the first event, not the second
    db.execute("UPDATE outbox SET payload = json_set(payload, '$.payload.text', ?) WHERE ref = ?",
               [moved, second])
    db.conn.commit()
    platform = InProcessPlatform(tmp_path / "platform")
    try:
        result = push(db, platform.client(platform.enroll("H0001", "K01")), tmp_path / "blobs")
        assert result.error is None
        assert [r[0] for r in platform.query("SELECT id FROM events WHERE type = 'evaluation'")] \
            == [first]
    finally:
        platform.close()
    state, error = db.execute("SELECT state, last_error FROM outbox WHERE ref = ?",
                              [second]).fetchone()
    assert state == "failed" and error.startswith("undecryptable")
    db.conn.close()
