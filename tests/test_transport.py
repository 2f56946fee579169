"""Provider calls connect to the address that was checked (SECURITY 18, DNS rebinding): a name is
resolved once when the connection opens, every address is checked, and the socket goes to the
checked one — while ``Host``, SNI and the certificate check still use the name."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub import transport
from hub.errors import UpstreamFailed, UpstreamTimeout

NAME = "files.lan"


class Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, "host": self.headers["Host"]})
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(
    tls: ssl.SSLContext | None = None, *, keep_alive: bool = False
) -> tuple[ThreadingHTTPServer, list[dict[str, str]]]:
    seen: list[dict[str, str]] = []
    version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
    handler = type("Handler", (Recorder,), {"seen": seen, "protocol_version": version})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def upstream() -> Iterator[tuple[int, list[dict[str, str]]]]:
    server, seen = serve()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def answers(monkeypatch: pytest.MonkeyPatch, *results: list[str] | Exception) -> list[str]:
    """Make the resolver answer ``results`` in turn (the last one from then on)."""
    asked: list[str] = []

    def resolve(host: str) -> list[str]:
        asked.append(host)
        result = results[min(len(asked), len(results)) - 1]
        if isinstance(result, Exception):
            raise result
        return result

    monkeypatch.setattr("hub.netguard.resolve_host", resolve)
    return asked


def test_a_name_that_turns_internal_after_the_check_is_not_connected_to(
    make_app, upstream, monkeypatch
):
    port, seen = upstream
    app = make_app(ALLOW_PRIVATE_ADDRESSES="10.0.0.5")  # a LAN server is allowed; loopback not
    asked = answers(monkeypatch, ["10.0.0.5"], ["127.0.0.1"])
    with app.app_context(), pytest.raises(UpstreamFailed) as refused:
        transport.send("GET", f"http://{NAME}:{port}/x", provider="Files")
    assert "the hub refuses to call Files there" in refused.value.message
    assert "non-public address" in refused.value.message
    assert asked == [NAME, NAME]  # checked, then resolved again only to connect
    assert seen == []


def test_the_connection_goes_to_the_checked_address_and_names_the_host(
    make_app, upstream, monkeypatch
):
    port, seen = upstream
    app = make_app(ALLOW_PRIVATE_ADDRESSES="127.0.0.1")
    answers(monkeypatch, ["127.0.0.1"])
    with app.app_context():
        response = transport.send("GET", f"http://{NAME}:{port}/x?y=1", provider="Files")
    assert response.status_code == 200 and response.content == b"hello"
    assert seen == [{"path": "/x?y=1", "host": f"{NAME}:{port}"}]


def test_a_name_that_stops_resolving_is_not_connected_to(make_app, upstream, monkeypatch):
    port, seen = upstream
    app = make_app(ALLOW_PRIVATE_ADDRESSES="127.0.0.1")
    answers(monkeypatch, ["127.0.0.1"], socket.gaierror("gone"))
    with app.app_context(), pytest.raises(UpstreamFailed, match="does not resolve"):
        transport.send("GET", f"http://{NAME}:{port}/x", provider="Files")
    assert seen == []


def certificate(tmp_path) -> tuple[str, str]:
    """A self-signed certificate for NAME (key file, certificate file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = tmp_path / "key.pem", tmp_path / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


def test_https_to_the_checked_address_still_verifies_the_certificate_of_the_name(
    make_app, monkeypatch, tmp_path
):
    key_file, cert_file = certificate(tmp_path)
    names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    tls.sni_callback = lambda sock, name, context: names.append(name)
    server, seen = serve(tls)
    port = server.server_address[1]
    try:
        app = make_app(ALLOW_PRIVATE_ADDRESSES="127.0.0.1")
        answers(monkeypatch, ["127.0.0.1"])
        transport.session().verify = cert_file  # trust the test certificate only
        with app.app_context():
            response = transport.send("GET", f"https://{NAME}:{port}/secure", provider="Files")
        assert response.status_code == 200
        assert names == [NAME]  # SNI names the host, not the address
        assert seen == [{"path": "/secure", "host": f"{NAME}:{port}"}]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tls_upstream(tmp_path) -> Iterator[tuple[int, list[dict[str, str]], str]]:
    """An https server with a certificate for NAME that keeps connections alive: (port, requests
    seen, certificate file)."""
    key_file, cert_file = certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    server, seen = serve(tls, keep_alive=True)
    yield server.server_address[1], seen, cert_file
    server.shutdown()
    server.server_close()


def test_https_calls_resolve_the_name_once_when_the_connection_opens(
    make_app, monkeypatch, tls_upstream
):
    """No DNS lookup per call: the pinned connection checks the addresses as it opens, and the
    kept-alive connection stays with the address checked then."""
    port, seen, cert_file = tls_upstream
    app = make_app(ALLOW_PRIVATE_ADDRESSES="127.0.0.1")
    asked = answers(monkeypatch, ["127.0.0.1"])
    transport.session().verify = cert_file
    with app.app_context():
        statuses = [
            transport.send("GET", f"https://{NAME}:{port}/{n}", provider="Files").status_code
            for n in range(3)
        ]
    assert statuses == [200, 200, 200]
    assert asked == [NAME]
    assert [request["path"] for request in seen] == ["/0", "/1", "/2"]


def test_https_to_a_name_that_resolves_to_a_refused_address_is_not_connected_to(
    make_app, monkeypatch, tls_upstream
):
    port, seen, cert_file = tls_upstream
    app = make_app(ALLOW_PRIVATE_ADDRESSES="10.0.0.5")  # a LAN server is allowed; loopback not
    asked = answers(monkeypatch, ["127.0.0.1"])
    transport.session().verify = cert_file
    with app.app_context(), pytest.raises(UpstreamFailed) as refused:
        transport.send("GET", f"https://{NAME}:{port}/x", provider="Files")
    assert refused.value.message == (
        f"the hub refuses to call Files there: host {NAME} resolves to a loopback, private or "
        "other non-public address"
    )
    assert asked == [NAME]
    assert seen == []


def test_https_through_a_session_the_hub_does_not_pin_is_checked_at_call_time(
    make_app, monkeypatch, tls_upstream
):
    """A session without the pinned adapter checks nothing when it connects: the address
    check then happens before the call, as it always did."""
    import requests

    port, seen, cert_file = tls_upstream
    app = make_app(ALLOW_PRIVATE_ADDRESSES="10.0.0.5")
    asked = answers(monkeypatch, ["127.0.0.1"])
    plain = requests.Session()
    plain.verify = cert_file
    with app.app_context(), pytest.raises(UpstreamFailed, match="non-public address"):
        transport.send("GET", f"https://{NAME}:{port}/x", provider="Files", http=plain)
    assert asked == [NAME]
    assert seen == []


def test_a_certificate_the_hub_does_not_trust_is_refused_on_both_paths(
    make_app, monkeypatch, tls_upstream
):
    """A provider's server with a certificate no trusted authority signed: no request reaches
    it (the Authorization header would go with the first one), on either path."""
    port, seen, _ = tls_upstream  # the session keeps the default trust store
    app = make_app(ALLOW_PRIVATE_ADDRESSES="127.0.0.1")
    answers(monkeypatch, ["127.0.0.1"])
    url = f"https://{NAME}:{port}/x"
    headers = {"Authorization": "Bearer secret"}
    with app.app_context():
        with pytest.raises(UpstreamFailed) as direct:
            transport.send("GET", url, provider="Files", headers=headers)
        with pytest.raises(UpstreamFailed) as usual:
            through_requests("GET", url, headers=headers)
    assert direct.value.message == usual.value.message == "could not reach Files: SSLError"
    assert seen == []


# -- a kept-alive connection the provider closes as the next request arrives -----------------


class ClosesIdleConnections:
    """A provider whose keep-alive timeout fires just as a request arrives on an idle connection:
    it answers the first request of each connection and closes the connection, unanswered, when
    the second arrives. Records (connection number, method) of every request it read."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        number = 0
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            number += 1
            threading.Thread(target=self.serve, args=(connection, number), daemon=True).start()

    def serve(self, connection: socket.socket, number: int) -> None:
        with connection, connection.makefile("rb") as reader:
            for answered in range(2):
                request_line = reader.readline()
                if not request_line:
                    return
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                reader.read(length)
                self.seen.append((number, request_line.split()[0].decode()))
                if answered == 1:
                    return  # closed without an answer
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def stop(self) -> None:
        self.listener.close()


@pytest.fixture
def closing_provider() -> Iterator[ClosesIdleConnections]:
    server = ClosesIdleConnections()
    yield server
    server.stop()


def test_a_get_on_a_connection_the_provider_dropped_is_sent_again_once(make_app, closing_provider):
    app = make_app(ALLOW_PRIVATE_ADDRESSES=True)
    url = f"http://127.0.0.1:{closing_provider.port}/x"
    with app.app_context():
        first = transport.send("GET", url, provider="Files")
        second = transport.send("GET", url, provider="Files")

    assert (first.status_code, second.status_code) == (200, 200)
    assert closing_provider.seen == [(1, "GET"), (1, "GET"), (2, "GET")]


def test_a_post_on_a_dropped_connection_is_not_sent_twice(make_app, closing_provider):
    app = make_app(ALLOW_PRIVATE_ADDRESSES=True)
    url = f"http://127.0.0.1:{closing_provider.port}/x"
    with app.app_context():
        transport.send("GET", url, provider="Files")
        with pytest.raises(UpstreamFailed, match="could not reach Files"):
            transport.send("POST", url, provider="Files", data=b"charge the card")

    assert closing_provider.seen == [(1, "GET"), (1, "POST")]


# -- the direct path sends what requests would send --------------------------------------------


class RecordsBytes:
    """A provider that records each request's bytes as they arrived (head and body) and answers
    ``200 ok`` on the same kept-alive connection."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def serve(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reader:
            while head := reader.readline():
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    head += line
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.seen.append(head + b"\r\n" + reader.read(length))
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    b"Set-Cookie: provider=1; Path=/\r\nContent-Length: 2\r\n\r\nok"
                )

    def stop(self) -> None:
        self.listener.close()


@pytest.fixture
def recorder() -> Iterator[RecordsBytes]:
    server = RecordsBytes()
    yield server
    server.stop()


def through_requests(method: str, url: str, **kwargs: object) -> object:
    """The same call made through requests' own path (an argument the direct path does not
    take sends it there)."""
    return transport.send(method, url, provider="Files", params=None, **kwargs)


DIRECT_CASES = [
    ("GET", "/plain", {}),
    ("GET", '/quoted/%7e/%41%2F/{x}|^`/"q"?a=b%20c&d=%zz&e=<>[]', {}),
    ("GET", "/dots/./a/../b?x", {}),
    ("GET", "", {"headers": {"Accept": "application/json", "X-Request-Id": "r-1"}}),
    ("GET", "/no-encoding", {"headers": {"Accept-Encoding": None, "user-agent": "other"}}),
    ("HEAD", "/head", {}),
    ("DELETE", "/delete", {}),
    ("PUT", "/empty", {"data": b""}),
    ("POST", "/body", {"data": b'{"a": 1}', "headers": {"Content-Type": "application/json"}}),
    ("PATCH", "/length", {"data": b"abc", "headers": {"Content-Length": "99"}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), DIRECT_CASES)
def test_the_direct_path_sends_the_bytes_requests_would_send(
    make_app, recorder, method, path, kwargs
):
    app = make_app(ALLOW_PRIVATE_ADDRESSES=True)
    url = f"http://127.0.0.1:{recorder.port}{path}"
    with app.app_context():
        direct = transport.send(method, url, provider="Files", **kwargs)
        usual = through_requests(method, url, **kwargs)

    assert len(recorder.seen) == 2
    assert recorder.seen[0] == recorder.seen[1]
    assert (direct.status_code, direct.headers, direct.encoding, direct.content) == (
        usual.status_code,
        usual.headers,
        usual.encoding,
        usual.content,
    )
    assert direct.url == usual.url
    assert direct.request.url == usual.request.url
    assert direct.cookies.get_dict() == usual.cookies.get_dict() == {"provider": "1"}
    assert direct.text == usual.text == ("" if method == "HEAD" else "ok")


def test_the_direct_path_is_taken_on_a_plain_call(make_app, recorder, monkeypatch):
    """Not a test of speed: that the comparison above compares two paths."""
    taken: list[str] = []
    real = transport._direct
    monkeypatch.setattr(transport, "_direct", lambda *args: taken.append(args[2]) or real(*args))
    app = make_app(ALLOW_PRIVATE_ADDRESSES=True)
    url = f"http://127.0.0.1:{recorder.port}/x"
    with app.app_context():
        transport.send("GET", url, provider="Files")
        through_requests("GET", url)
        transport.send("GET", url, provider="Files", params={"a": "b"})
    assert taken == ["GET"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Injected": "a\r\nX-Evil: 1"},
        {"X-Injected": "a\nX-Evil: 1"},
        {"X-Injected": " leading white space"},
        {"X-Bad\r\nName": "v"},
    ],
)
def test_a_header_that_would_split_the_request_is_sent_by_neither_path(make_app, recorder, headers):
    app = make_app(ALLOW_PRIVATE_ADDRESSES=True)
    url = f"http://127.0.0.1:{recorder.port}/x"
    with app.app_context():
        with pytest.raises(UpstreamFailed) as direct:
            transport.send("GET", url, provider="Files", headers=headers)
        with pytest.raises(UpstreamFailed) as usual:
            through_requests("GET", url, headers=headers)
    assert direct.value.message == usual.value.message
    assert recorder.seen == []


def test_a_refused_connection_fails_alike_on_both_paths(make_app):
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    app = make_app(ALLOW_PRIVATE_ADDRESSES=True)
    url = f"http://127.0.0.1:{port}/x"
    with app.app_context():
        with pytest.raises(UpstreamFailed) as direct:
            transport.send("GET", url, provider="Files")
        with pytest.raises(UpstreamFailed) as usual:
            through_requests("GET", url)
    assert direct.value.message == usual.value.message == "could not reach Files: ConnectionError"


def test_a_read_timeout_fails_alike_on_both_paths(make_app):
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the backlog), never answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/x"
    app = make_app(ALLOW_PRIVATE_ADDRESSES=True)
    try:
        with app.app_context():
            with pytest.raises(UpstreamTimeout) as direct:
                transport.send("GET", url, provider="Files", timeout=(1.0, 0.2))
            with pytest.raises(UpstreamTimeout) as usual:
                through_requests("GET", url, timeout=(1.0, 0.2))
    finally:
        silent.close()
    assert direct.value.message == usual.value.message == "Files did not answer in time"
