"""Every call ends within its total deadline (+1 s), however slowly the server trickles."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.uplink.upload.conftest import LOOPBACK, Sleeps, dev_config, write_random
from tests.uplink.upload.netfaults import RawRequest, ScriptedServer, http_response, tus_script
from uplink.errors import DeadlineExceeded
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.transport import RequestsTransport
from uplink.upload.tus import TusClient

DEADLINE = 2.0
# Per-read timeouts far above the deadline: only the total deadline can end these calls.
SLOW_READS = {"connect_timeout_s": 10.0, "read_timeout_s": 10.0}


def _trickle(data: bytes, conn: socket.socket, stop_after: float = 8.0) -> None:
    start = time.monotonic()
    for byte in data:
        if time.monotonic() - start > stop_after:
            return
        conn.sendall(bytes([byte]))
        time.sleep(1.0)


def trickle_headers(req: RawRequest, conn: socket.socket) -> bool:
    _trickle(http_response(204, {"Tus-Resumable": "1.0.0", "X-Pad": "p" * 40}), conn)
    return False


def trickle_body(req: RawRequest, conn: socket.socket) -> bool:
    body = b"x" * 40
    conn.sendall(http_response(200, {"Content-Length": str(len(body))}))
    _trickle(body, conn)
    return False


def trickle_unframed_body(req: RawRequest, conn: socket.socket) -> bool:
    # No Content-Length: the body ends when the connection closes, so a cut socket could
    # pass for a complete (short) body unless the transport notices its deadline fired.
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    _trickle(b"y" * 40, conn)
    return False


def silent_unframed_body(req: RawRequest, conn: socket.socket) -> bool:
    # Headers at once, then silence: when the watchdog cuts the socket the body "ends" empty.
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    time.sleep(8.0)
    return False


def never_answer(req: RawRequest, conn: socket.socket) -> bool:
    time.sleep(8.0)
    return False


@pytest.mark.parametrize("script", [trickle_headers, trickle_body, trickle_unframed_body,
                                    silent_unframed_body, never_answer])
def test_call_ends_within_its_deadline(
        script: Callable[[RawRequest, socket.socket], bool],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    server = make_scripted(script)
    transport = RequestsTransport(dev_config(**SLOW_READS))
    start = time.monotonic()
    try:
        with pytest.raises(DeadlineExceeded):
            transport.request("OPTIONS", server.url, {}, None, start + DEADLINE)
    finally:
        transport.close()
    elapsed = time.monotonic() - start
    assert elapsed < DEADLINE + 1.0, f"call took {elapsed:.1f} s"
    assert server.connections == 1


def test_server_that_never_reads_the_body_is_cut() -> None:
    """A PATCH larger than the socket buffers blocks in send(); the deadline still ends it."""
    accepted: list[socket.socket] = []
    # The kernel completes the handshake from the backlog; nobody ever reads.
    lsock = socket.create_server(("127.0.0.1", 0))
    port = lsock.getsockname()[1]
    transport = RequestsTransport(dev_config(**SLOW_READS))
    start = time.monotonic()
    try:
        lsock.settimeout(5)
        with pytest.raises(DeadlineExceeded):
            transport.request("PATCH", f"http://127.0.0.1:{port}/files/x", {},
                              b"z" * (32 << 20), start + DEADLINE)
        accepted.append(lsock.accept()[0])
    finally:
        transport.close()
        for s in [*accepted, lsock]:
            s.close()
    assert time.monotonic() - start < DEADLINE + 1.0
    assert len(accepted) == 1


def test_uploader_gives_up_on_a_silent_server_in_bounded_time(
        tmp_path: Path, store: SqliteResumeStore, make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 100_000)

    def silent_patch(req: RawRequest, n: int) -> bytes | None:
        if req.method == "PATCH":
            time.sleep(8.0)
            return b""
        return None

    server = make_scripted(tus_script(silent_patch))
    sleeps = Sleeps()
    cfg = dev_config(call_deadline_s=DEADLINE, max_attempts=2, **SLOW_READS)
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        make_client(cfg, store, sleep=sleeps).upload_file(src, server.url, meta, "k",
                                                          allowed_hosts=LOOPBACK)
    elapsed = time.monotonic() - start
    # Two PATCHes (with a HEAD between) each cut at their deadline.
    assert server.methods() == ["OPTIONS", "POST", "PATCH", "HEAD", "PATCH"]
    assert elapsed < 2 * (DEADLINE + 1.0)
    assert len(sleeps) == 1
    saved = store.load("k")
    assert saved is not None and saved.offset == 0  # kept for a later resume
