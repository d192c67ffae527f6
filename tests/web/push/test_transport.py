"""Push's standard-library transport against real loopback servers: every call ends at its
total deadline however the server trickles, redirects are refused, TLS is verified, and
proxies named in the environment are not used."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from device.web.push.endpoints import EndpointPolicy
from device.web.push.errors import Unreachable
from device.web.push.sender import PushSender, Target
from device.web.push.transport import BODY_CAP, StdlibTransport
from device.web.push.vapid import VapidKey
from tests.uplink.upload.netfaults import RawRequest, ScriptedServer, http_response
from tests.web.push.browser import Browser
from uplink.errors import DeadlineExceeded, DestinationRefused, TransientUploadError


def named(*urls: str) -> EndpointPolicy:
    """The policy with each URL's origin named in [push] other_services, as the tests'
    configs name their loopback push service."""
    return EndpointPolicy.of(["/".join(u.split("/")[:3]) for u in urls])


def to(url: str, **kw: Any) -> StdlibTransport:
    return StdlibTransport(named(url), **kw)


DEADLINE = 1.5
SLOW = 10.0  # per-operation timeouts far above the deadline: only the deadline ends a call


@pytest.fixture
def make_scripted() -> Iterator[Callable[..., ScriptedServer]]:
    made: list[ScriptedServer] = []

    def make(script: Any) -> ScriptedServer:
        made.append(ScriptedServer(script))
        return made[-1]

    yield make
    for s in made:
        s.stop()


def _trickle(data: bytes, conn: socket.socket, every: float = 0.25) -> None:
    for byte in data:
        conn.sendall(bytes([byte]))
        time.sleep(every)


def trickle_headers(req: RawRequest, conn: socket.socket) -> bool:
    _trickle(http_response(201, {"X-Pad": "p" * 40}), conn)
    return False


def trickle_body(req: RawRequest, conn: socket.socket) -> bool:
    conn.sendall(http_response(201, {"Content-Length": "40"}))
    _trickle(b"x" * 40, conn)
    return False


def trickle_unframed_body(req: RawRequest, conn: socket.socket) -> bool:
    # No Content-Length: the body ends when the connection closes, so a cut socket could
    # pass for a complete short body unless the transport notices its deadline fired.
    conn.sendall(b"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\n")
    _trickle(b"y" * 40, conn)
    return False


def silent(req: RawRequest, conn: socket.socket) -> bool:
    time.sleep(8.0)
    return False


@pytest.mark.parametrize("script", [trickle_headers, trickle_body, trickle_unframed_body,
                                    silent])
def test_call_ends_at_its_total_deadline(
        script: Callable[[RawRequest, socket.socket], bool],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    server = make_scripted(script)
    transport = to(server.url, connect_timeout_s=SLOW)
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        transport.request("POST", server.url, {}, b"{}", start + DEADLINE)
    elapsed = time.monotonic() - start
    assert DEADLINE - 0.1 < elapsed < DEADLINE + 1.0, f"call took {elapsed:.1f} s"
    assert server.connections == 1 and server.methods() == ["POST"]


def test_a_trickling_push_service_is_unreachable_at_the_senders_deadline(
        tmp_path: Path, make_scripted: Callable[..., ScriptedServer]) -> None:
    server = make_scripted(trickle_headers)
    sender = PushSender(VapidKey.load_or_create(tmp_path / "k.pem"), "mailto:o@example.org",
                        named(server.url), deadline_s=DEADLINE)
    b = Browser.new()
    start = time.monotonic()
    with pytest.raises(Unreachable) as err:
        sender.send(Target(f"http://127.0.0.1:{server.port}/push/secret-token", b.p256dh,
                           b.auth), b"{}", ttl=60)
    assert time.monotonic() - start < DEADLINE + 1.0
    assert "secret-token" not in str(err.value)
    assert server.requests[0].headers["content-encoding"] == "aes128gcm"


def test_a_tls_handshake_that_never_finishes_is_cut() -> None:
    lsock = socket.create_server(("127.0.0.1", 0))  # accepts, then never says ServerHello
    port = lsock.getsockname()[1]
    transport = to(f"https://127.0.0.1:{port}", connect_timeout_s=SLOW)
    start = time.monotonic()
    try:
        with pytest.raises(DeadlineExceeded):
            transport.request("POST", f"https://127.0.0.1:{port}/push/x", {}, b"{}",
                              start + DEADLINE)
    finally:
        lsock.close()
    assert time.monotonic() - start < DEADLINE + 1.0


def test_a_server_that_never_reads_the_body_is_cut() -> None:
    lsock = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody reads
    port = lsock.getsockname()[1]
    transport = to(f"http://127.0.0.1:{port}", connect_timeout_s=SLOW)
    start = time.monotonic()
    try:
        with pytest.raises(DeadlineExceeded):
            transport.request("POST", f"http://127.0.0.1:{port}/push/x", {},
                              b"z" * (32 << 20), start + DEADLINE)
    finally:
        lsock.close()
    assert time.monotonic() - start < DEADLINE + 1.0


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_refused_not_followed(
        status: int, make_scripted: Callable[..., ScriptedServer]) -> None:
    server = make_scripted(lambda req, conn: conn.sendall(http_response(
        status, {"Location": "/elsewhere"})) or True)
    with pytest.raises(DestinationRefused, match="redirect"):
        to(server.url).request("POST", server.url, {}, b"{}", time.monotonic() + 5)
    assert server.methods() == ["POST"], "the Location was never asked for"


def test_body_is_capped_and_headers_ignore_case(
        make_scripted: Callable[..., ScriptedServer]) -> None:
    server = make_scripted(lambda req, conn: conn.sendall(http_response(
        400, {"Retry-After": "12"}, b"b" * (1 << 20))) or False)
    resp = to(server.url).request("POST", server.url, {"TTL": "60"}, b"{}",
                                     time.monotonic() + 10)
    assert resp.status == 400 and len(resp.body) == BODY_CAP
    assert resp.headers["retry-after"] == resp.headers["RETRY-AFTER"] == "12"
    assert server.requests[0].headers["ttl"] == "60"


@pytest.mark.parametrize("url", ["http://push.example.com/x", "http://10.0.0.1/x",
                                 "ftp://127.0.0.1/x", "https://u@push.example.com/x",
                                 "https://push.example.com\\@evil/x"])
def test_plain_http_and_unknown_services_are_refused_before_connecting(url: str) -> None:
    with pytest.raises(DestinationRefused):
        StdlibTransport(EndpointPolicy.of(), resolver=_unreachable,
                        connector=_unreachable).request("POST", url, {}, b"{}",
                                                        time.monotonic() + 5)


def _unreachable(*args: Any) -> Any:
    raise AssertionError(f"the transport looked up or connected: {args!r}")


def test_a_loopback_push_service_not_named_in_the_config_is_refused(
        make_scripted: Callable[..., ScriptedServer]) -> None:
    server = make_scripted(lambda req, conn: False)
    with pytest.raises(DestinationRefused, match="not an IP address"):
        StdlibTransport(EndpointPolicy.of(["http://127.0.0.1:1"])).request(
            "POST", server.url, {}, b"{}", time.monotonic() + 5)
    assert server.connections == 0


def test_refused_connection_is_transient_and_a_passed_deadline_connects_nowhere(
        make_scripted: Callable[..., ScriptedServer]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, not listening: the connection is refused
        port = s.getsockname()[1]
        with pytest.raises(TransientUploadError) as info:
            to(f"http://127.0.0.1:{port}").request("POST", f"http://127.0.0.1:{port}/x", {}, b"",
                                      time.monotonic() + 5)
    assert not isinstance(info.value, DeadlineExceeded)
    server = make_scripted(lambda req, conn: False)
    with pytest.raises(DeadlineExceeded):
        to(server.url).request("POST", server.url, {}, b"", time.monotonic() - 1)
    assert server.connections == 0


class _Ok(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def tls_server() -> Iterator[Callable[[str], tuple[str, ssl.SSLContext]]]:
    """make(name): an https push service on 127.0.0.1 whose certificate names `name`; its
    URL and a client context trusting its CA."""
    servers: list[ThreadingHTTPServer] = []

    def make(name: str) -> tuple[str, ssl.SSLContext]:
        ca = trustme.CA()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(name).configure_cert(ctx)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        trusting = ssl.create_default_context()
        ca.configure_trust(trusting)
        return f"https://127.0.0.1:{server.server_address[1]}/push/x", trusting

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def test_tls_is_verified_against_the_trusted_cas(
        tls_server: Callable[[str], tuple[str, ssl.SSLContext]]) -> None:
    url, trusting = tls_server("127.0.0.1")
    with pytest.raises(DestinationRefused, match="certificate"):
        to(url).request("POST", url, {}, b"{}", time.monotonic() + 5)
    resp = to(url, context=trusting).request("POST", url, {}, b"{}",
                                                     time.monotonic() + 5)
    assert resp.status == 201


def test_tls_names_the_host(tls_server: Callable[[str], tuple[str, ssl.SSLContext]]) -> None:
    url, trusting = tls_server("push.example.com")  # a trusted CA, another host's name
    with pytest.raises(DestinationRefused, match="certificate"):
        to(url, context=trusting).request("POST", url, {}, b"{}",
                                                  time.monotonic() + 5)


def test_proxies_in_the_environment_are_not_used(
        monkeypatch: pytest.MonkeyPatch, make_scripted: Callable[..., ScriptedServer]) -> None:
    proxy = make_scripted(lambda req, conn: False)
    server = make_scripted(lambda req, conn: conn.sendall(http_response(201)) or False)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert to(server.url).request("POST", server.url, {}, b"{}",
                                     time.monotonic() + 5).status == 201
    assert proxy.connections == 0 and server.connections == 1
