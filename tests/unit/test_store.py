import sqlite3

import pytest

from kiosk import atrest, crypto, rekey, store
from kiosk.store import MIGRATIONS, applied_migrations, open_store


def test_migrations_from_empty(tmp_path):
    db = open_store(tmp_path / "k.db")
    assert applied_migrations(db) == [name for name, _ in MIGRATIONS]
    assert {"items", "departments", "catalog_versions", "settings"} <= set(db.table_names())
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_migrations_rerun_is_a_no_op(tmp_path):
    path = tmp_path / "k.db"
    open_store(path).conn.close()
    db = open_store(path)
    assert store.migrate(db, path, MIGRATIONS) == []
    assert applied_migrations(db) == [name for name, _ in MIGRATIONS]


def test_new_migration_runs_once_after_a_backup(tmp_path):
    """GIVEN a store at the current schema WHEN a new migration ships THEN the file is backed
    up first, the migration runs once, and the backup holds the old schema."""
    path = tmp_path / "k.db"
    db = open_store(path)
    store.set_setting(db, "greeting", "ni hao")
    db.conn.close()

    def m9999_extra(db):
        db.execute("CREATE TABLE extra (x INTEGER)")

    more = MIGRATIONS + [("9999_extra", m9999_extra)]
    db = open_store(path, migrations=more)
    assert "extra" in db.table_names()
    backup = tmp_path / "k.db.before-9999_extra.bak"
    assert backup.read_bytes().startswith(crypto.BLOB_MAGIC)  # encrypted, never plaintext
    rekey.open_backup(backup, tmp_path / "restored.db", atrest.keys_for(db))
    old = sqlite3.connect(tmp_path / "restored.db")
    assert "extra" not in {r[0] for r in old.execute("SELECT name FROM sqlite_master")}
    assert old.execute("SELECT value FROM settings").fetchone() == ("ni hao",)
    assert open_store(path, migrations=more) is not None
    assert applied_migrations(db).count("9999_extra") == 1


def test_failed_migration_leaves_nothing_half_done(tmp_path):
    path = tmp_path / "k.db"
    open_store(path).conn.close()

    def m9998_broken(db):
        db.execute("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        open_store(path, migrations=MIGRATIONS + [("9998_broken", m9998_broken)])
    db = open_store(path)
    assert "half" not in db.table_names()
    assert "9998_broken" not in applied_migrations(db)


def test_settings_round_trip(db):
    assert store.get_setting(db, "x") is None
    store.set_setting(db, "x", "1")
    store.set_setting(db, "x", "2")
    assert store.get_setting(db, "x") == "2"


def test_corrupt_file_gives_a_store_error(tmp_path):
    path = tmp_path / "k.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(store.StoreError, match="cannot open the local store"):
        open_store(path)


def test_stores_opened_at_once_migrate_once(tmp_path):
    """GIVEN a new store file WHEN eight threads open it at the same moment THEN every one gets
    a working store and each migration is recorded once."""
    import threading

    path = tmp_path / "k.db"
    errors, barrier = [], threading.Barrier(8)

    def open_it():
        barrier.wait()
        try:
            open_store(path).conn.close()
        except Exception as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert applied_migrations(open_store(path)) == [name for name, _ in MIGRATIONS]
