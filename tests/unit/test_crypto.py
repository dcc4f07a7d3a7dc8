"""kiosk.crypto: AES-GCM sealing, context binding, tamper detection, key storage and rotation."""

from __future__ import annotations

import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import crypto

ID_NUMBER = "11010519491231002X"
NAME = "张三丰"


@pytest.fixture
def ring(tmp_path):
    return crypto.open_keyring(tmp_path, use_os_keyring=False)


class DictKeyring:
    """A keyring backend with the same two calls as the OS ones, holding secrets in memory."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.secrets.get((service, user))

    def set_password(self, service: str, user: str, value: str) -> None:
        self.secrets[(service, user)] = value


def test_text_and_bytes_round_trip_and_hide_the_plaintext(ring):
    applicant = json.dumps({"id_number": ID_NUMBER, "name": NAME}, ensure_ascii=False)
    token = ring.encrypt_text(applicant, "applications.applicant:A1")
    assert token.startswith(f"enc:v1:{ring.current}:") and crypto.is_encrypted(token)
    assert ID_NUMBER not in token and NAME not in token
    assert ring.decrypt_text(token, "applications.applicant:A1") == applicant
    scan = b"\x89PNG fake-scan " + ID_NUMBER.encode() + NAME.encode()
    sealed = ring.encrypt_bytes(scan, "blob:abc")
    assert crypto.is_encrypted(sealed) and not crypto.is_encrypted(scan)
    assert ID_NUMBER.encode() not in sealed and NAME.encode() not in sealed
    assert ring.decrypt_bytes(sealed, "blob:abc") == scan
    # A fresh nonce each time: equal plaintexts do not give equal ciphertexts.
    assert ring.encrypt_text(applicant, "c") != ring.encrypt_text(applicant, "c")


def test_a_ciphertext_moved_to_another_field_or_record_does_not_open(ring):
    token = ring.encrypt_text(ID_NUMBER, "applications.applicant:A1")
    with pytest.raises(crypto.DecryptionFailed, match="altered or belongs to another"):
        ring.decrypt_text(token, "applications.applicant:A2")
    sealed = ring.encrypt_bytes(b"scan", "blob:1")
    with pytest.raises(crypto.DecryptionFailed):
        ring.decrypt_bytes(sealed, "blob:2")


def test_every_altered_byte_is_detected(ring):
    sealed = ring.encrypt_bytes(b"0123456789" * 5, "blob:x")
    header = len(crypto.BLOB_MAGIC) + 1 + len(ring.current)
    for i in range(header, len(sealed)):
        mangled = bytearray(sealed)
        mangled[i] ^= 0x01
        with pytest.raises(crypto.DecryptionFailed):
            ring.decrypt_bytes(bytes(mangled), "blob:x")
    with pytest.raises(crypto.DecryptionFailed, match="truncated"):
        ring.decrypt_bytes(sealed[:header + 20], "blob:x")


def test_rotation_keeps_every_record_readable_then_reencrypt_and_retire(tmp_path):
    ring = crypto.open_keyring(tmp_path, use_os_keyring=False)
    first = ring.current
    old = {f"r{i}": ring.encrypt_text(f"{NAME}{i}", f"f:{i}") for i in range(20)}
    old_blob = ring.encrypt_bytes(b"scan-bytes", "blob:1")
    second = ring.rotate()
    assert second != first and ring.current == second
    new = ring.encrypt_text(ID_NUMBER, "f:new")
    assert ring.key_id_of(new) == second
    # Another process opening the ring from disk reads old and new alike.
    reopened = crypto.open_keyring(tmp_path, use_os_keyring=False)
    assert reopened.current == second and set(reopened.keys) == {first, second}
    assert [reopened.decrypt_text(t, f"f:{i}") for i, t in enumerate(old.values())] == [
        f"{NAME}{i}" for i in range(20)]
    assert reopened.decrypt_text(new, "f:new") == ID_NUMBER
    # Move everything to the new key, then the old one can go.
    moved = {k: reopened.reencrypt(t, f"f:{k[1:]}") for k, t in old.items()}
    moved_blob = reopened.reencrypt(old_blob, "blob:1")
    assert {reopened.key_id_of(t) for t in moved.values()} == {second}
    assert reopened.key_id_of(moved_blob) == second
    assert reopened.reencrypt(new, "f:new") is new
    reopened.retire(first)
    after = crypto.open_keyring(tmp_path, use_os_keyring=False)
    assert set(after.keys) == {second}
    assert after.decrypt_text(moved["r7"], "f:7") == f"{NAME}7"
    assert after.decrypt_bytes(moved_blob, "blob:1") == b"scan-bytes"
    with pytest.raises(crypto.UnknownKey, match=first):
        after.decrypt_text(old["r7"], "f:7")
    with pytest.raises(crypto.CryptoError, match="current key"):
        after.retire(second)


def test_the_key_file_is_private_and_refused_when_others_can_read_it(tmp_path):
    crypto.open_keyring(tmp_path, use_os_keyring=False)
    path = tmp_path / crypto.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(crypto.KeyStoreError, match="chmod 600"):
        crypto.open_keyring(tmp_path, use_os_keyring=False)
    os.chmod(path, 0o600)
    path.write_text('{"current": "x", "keys": {}}', encoding="ascii")
    with pytest.raises(crypto.KeyStoreError, match="inconsistent"):
        crypto.open_keyring(tmp_path, use_os_keyring=False)
    path.write_text("not json", encoding="ascii")
    with pytest.raises(crypto.KeyStoreError, match="damaged"):
        crypto.open_keyring(tmp_path, use_os_keyring=False)


def test_the_ring_lives_in_a_keyring_backend_and_no_key_file_is_written(tmp_path):
    backend = DictKeyring()
    ring = crypto.KeyRing.open(crypto.KeyringStore(backend))
    token = ring.encrypt_text(ID_NUMBER, "f")
    ring.rotate()
    again = crypto.KeyRing.open(crypto.KeyringStore(backend))
    assert again.decrypt_text(token, "f") == ID_NUMBER and len(again.keys) == 2
    assert not (tmp_path / crypto.KEY_FILE).exists()
    assert "keys=" in repr(again) and str(list(again.keys.values())[0]) not in repr(again)


def test_without_a_usable_os_keyring_the_key_file_is_used(tmp_path, monkeypatch):
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    assert crypto.os_keyring() is None
    store = crypto.default_store(tmp_path)
    assert isinstance(store, crypto.FileKeyStore) and store.path == tmp_path / crypto.KEY_FILE
    backend = DictKeyring()
    backend.priority = 5  # what a real Secret Service / Keychain backend reports
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    assert isinstance(crypto.default_store(tmp_path), crypto.KeyringStore)
    assert isinstance(crypto.default_store(tmp_path, use_os_keyring=False), crypto.FileKeyStore)


def test_a_failed_save_leaves_the_ring_as_it_was(tmp_path):
    class Broken(crypto.FileKeyStore):
        def save(self, text: str) -> None:
            raise crypto.KeyStoreError("disk full")

    ring = crypto.open_keyring(tmp_path, use_os_keyring=False)
    ring.store = Broken(tmp_path / crypto.KEY_FILE)
    before = (ring.current, dict(ring.keys))
    with pytest.raises(crypto.KeyStoreError, match="disk full"):
        ring.rotate()
    assert (ring.current, ring.keys) == before


@settings(max_examples=300, deadline=None)
@given(text=st.text(), data=st.binary(), context=st.text(max_size=40))
def test_any_value_round_trips(tmp_path_factory, text, data, context):
    ring = _shared_ring(tmp_path_factory)
    assert ring.decrypt_text(ring.encrypt_text(text, context), context) == text
    assert ring.decrypt_bytes(ring.encrypt_bytes(data, context), context) == data


@settings(max_examples=500, deadline=None)
@given(garbage=st.one_of(st.text(), st.text().map(lambda s: "enc:v1:" + s),
                         st.binary(), st.binary().map(lambda b: crypto.BLOB_MAGIC + b)))
def test_garbage_ciphertexts_fail_with_a_crypto_error_only(tmp_path_factory, garbage):
    ring = _shared_ring(tmp_path_factory)
    with pytest.raises(crypto.CryptoError):
        if isinstance(garbage, bytes):
            ring.decrypt_bytes(garbage, "c")
        else:
            ring.decrypt_text(garbage, "c")


_RINGS: dict[str, crypto.KeyRing] = {}


def _shared_ring(tmp_path_factory) -> crypto.KeyRing:
    # One ring for all hypothesis examples: creating a key file per example would be the cost.
    if "ring" not in _RINGS:
        _RINGS["ring"] = crypto.open_keyring(tmp_path_factory.mktemp("ring"),
                                             use_os_keyring=False)
    return _RINGS["ring"]
