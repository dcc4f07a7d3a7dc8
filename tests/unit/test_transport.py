"""Transport security against a real TLS server on loopback: verification always on, plain
http only to this machine, certificate pinning by SPKI or certificate SHA-256."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.config import Config, ConfigError, SyncConfig, load_config, parse_pins
from kiosk.sync.errors import InsecureTransport, PlatformUnreachable
from kiosk.sync.http import PlatformClient, certificate_pins, make_session, write_token
from kiosk.sync.runner import SyncAgent


def _self_signed(tmp_path):
    """A self-signed certificate for 127.0.0.1/localhost: (cert PEM path, key PEM path, DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test platform")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "platform.pem", tmp_path / "platform.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, cert.public_bytes(serialization.Encoding.DER)


class _Handler(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).seen.append(self.path)
        body = json.dumps({"changes": [], "cursor": None, "more": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 in a thread: (url, cert path, cert DER, requests seen)."""
    cert_path, key_path, der = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    handler = type("Handler", (_Handler,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert_path, der, handler.seen
    server.shutdown()
    server.server_close()


def _client(url: str, **options) -> PlatformClient:
    return PlatformClient(url, make_session("tok-secret", connect_timeout_s=3, timeout_s=5,
                                            **options))


def test_trusted_certificate_connects(tls_server):
    url, cert_path, _, seen = tls_server
    assert _client(url, ca_file=cert_path).get_status(None)["changes"] == []
    assert seen == ["/v1/applications/status"]


def test_untrusted_certificate_is_refused_without_a_pin(tls_server):
    url, _, _, seen = tls_server
    with pytest.raises(InsecureTransport, match="not trusted"):
        _client(url).get_status(None)  # the system's CAs do not know this certificate
    assert seen == []


@pytest.mark.parametrize("which", ["spki", "certificate"])
def test_right_pin_connects(tls_server, which):
    url, cert_path, der, seen = tls_server
    spki, whole = certificate_pins(der)
    pin = spki if which == "spki" else whole
    assert _client(url, ca_file=cert_path, pin_sha256=f"{'0' * 64} {pin}").get_status(None)
    assert seen == ["/v1/applications/status"]


def test_wrong_pin_is_refused_before_the_request_is_sent(tls_server):
    url, cert_path, der, seen = tls_server
    spki, whole = certificate_pins(der)
    wrong = "ab" * 32
    with pytest.raises(InsecureTransport) as caught:
        _client(url, ca_file=cert_path, pin_sha256=wrong).get_status(None)
    message = str(caught.value)
    assert wrong in message and spki in message and whole in message
    assert "pin_sha256" in message and "tok-secret" not in message
    assert seen == []  # the token never reached the server


def test_pins_in_base64_and_openssl_colon_form(tls_server):
    url, cert_path, der, _ = tls_server
    import base64

    spki = certificate_pins(der)[0]
    b64 = base64.b64encode(bytes.fromhex(spki)).decode()
    colons = ":".join(spki[i:i + 2] for i in range(0, 64, 2)).upper()
    assert parse_pins(f"sha256//{b64}, {colons}") == (spki, spki)
    assert _client(url, ca_file=cert_path, pin_sha256=f"sha256/{b64}").get_status(None)
    with pytest.raises(ValueError, match="not a SHA-256"):
        parse_pins("deadbeef")


def test_verification_cannot_be_turned_off(tls_server):
    url, _, _, seen = tls_server
    client = _client(url)
    client.session.verify = False
    with pytest.raises(InsecureTransport, match="verify=False"):
        client.get_status(None)
    client = _client(url)
    with pytest.raises(InsecureTransport, match="verify=False"):
        client._call("GET", "/v1/applications/status", verify=False)
    assert seen == []


def test_plain_http_only_to_loopback():
    with pytest.raises(InsecureTransport, match="http:// to 10.1.2.3 is refused"):
        _client("http://10.1.2.3:8700").get_status(None)
    with pytest.raises(InsecureTransport, match="platform.example.gov.cn"):
        _client("http://platform.example.gov.cn").get_status(None)
    for url in ("http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"):
        with pytest.raises(PlatformUnreachable):  # allowed: it tries, and nobody listens
            _client(url).get_status(None)


def test_configuration_refuses_plain_http_off_this_machine_and_bad_pins(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('platform_url = "http://192.168.1.20:8700"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="platform_url: plain http:// to 192.168.1.20"):
        load_config(path)
    path.write_text('platform_url = "http://127.0.0.1:8700"\n[sync]\npin_sha256 = "xyz"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="pin_sha256"):
        load_config(path)
    path.write_text('platform_url = "https://platform.example.gov.cn"\n', encoding="utf-8")
    assert load_config(path).platform_url.startswith("https://")


def test_sync_agent_uses_the_configured_ca_and_pin(tls_server, tmp_path, db):
    url, cert_path, der, seen = tls_server
    data = tmp_path / "terminal"
    write_token(data / "terminal.token", "tok-secret")
    spki = certificate_pins(der)[0]

    def agent(pin: str) -> SyncAgent:
        config = Config(platform_url=url, sync=SyncConfig(ca_file=str(cert_path), pin_sha256=pin))
        return SyncAgent(config, data)

    assert agent(spki).client.get_status(None)["changes"] == []
    report = agent("cd" * 32).run_round(db)
    assert isinstance(report.problem, InsecureTransport) and not report.online
    assert any("cd" * 32 in e and spki in e for e in report.errors)
