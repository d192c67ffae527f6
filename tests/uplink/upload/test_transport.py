"""The transport seam on its own: body cap, header lookup, deadlines on kept-alive sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from tests.uplink.upload.conftest import dev_config
from tests.uplink.upload.netfaults import RawRequest, ScriptedServer, http_response
from uplink.errors import DeadlineExceeded, TransientUploadError
from uplink.upload.transport import BODY_CAP, RequestsTransport


def test_body_is_capped_and_headers_ignore_case(
        make_scripted: Callable[..., ScriptedServer]) -> None:
    def big(req: RawRequest, conn: socket.socket) -> bool:
        conn.sendall(http_response(200, {"Upload-Offset": "12"}, b"b" * (1 << 20)))
        return True

    server = make_scripted(big)
    transport = RequestsTransport(dev_config())
    try:
        resp = transport.request("GET", server.url, {}, None, time.monotonic() + 10)
    finally:
        transport.close()
    assert resp.status == 200 and len(resp.body) == BODY_CAP
    assert resp.headers["upload-offset"] == resp.headers["UPLOAD-OFFSET"] == "12"
    assert resp.headers.get("Missing") is None


def test_deadline_cuts_a_kept_alive_connection(
        make_scripted: Callable[..., ScriptedServer]) -> None:
    """The second call reuses the first call's socket; its deadline must still reach it."""
    def quick_then_stall(req: RawRequest, conn: socket.socket) -> bool:
        if req.path.endswith("/stall"):  # trickled, so no per-read timeout ever fires
            for byte in http_response(204, {"X-Pad": "p" * 30}):
                conn.sendall(bytes([byte]))
                time.sleep(0.5)
            return False
        conn.sendall(http_response(204))
        return True

    server = make_scripted(quick_then_stall)
    transport = RequestsTransport(dev_config(connect_timeout_s=10.0, read_timeout_s=10.0))
    try:
        assert transport.request("GET", server.url, {}, None, time.monotonic() + 5).status == 204
        start = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            transport.request("GET", server.url + "stall", {}, None, start + 2.0)
        assert time.monotonic() - start < 3.0
    finally:
        transport.close()
    assert server.connections == 1  # the same connection, reused


def test_refused_connection_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connect is refused
        transport = RequestsTransport(dev_config())
        try:
            with pytest.raises(TransientUploadError) as info:
                transport.request("OPTIONS", f"http://127.0.0.1:{port}/files/", {}, None,
                                  time.monotonic() + 5)
        finally:
            transport.close()
    assert not isinstance(info.value, DeadlineExceeded)
    # Said in words, without the HTTP library's chain of object reprs.
    assert str(info.value) == f"OPTIONS http://127.0.0.1:{port}/files/: Connection refused"


def test_a_passed_deadline_makes_no_connection(
        make_scripted: Callable[..., ScriptedServer]) -> None:
    server = make_scripted(lambda req, conn: False)
    transport = RequestsTransport(dev_config())
    try:
        with pytest.raises(DeadlineExceeded):
            transport.request("OPTIONS", server.url, {}, None, time.monotonic() - 1)
    finally:
        transport.close()
    assert server.connections == 0
