"""Slow and greedy clients against the running web app, with small bounds set in its config:
a client trickling header lines, sitting idle in TLS, stalling in the handshake or in a
body, or opening one connection too many, is cut off within its bound, while other
clients' pages keep answering at once."""

from __future__ import annotations

import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.support import wait_until
from tests.web.helpers import login, try_login
from tests.web.world import World

HEADER_S, BODY_S, HANDSHAKE_S = 1.5, 1.5, 1.5
SLACK_S = 1.5  # the event loop's and this machine's own delays, on a busy CI box
BOUNDS = (f"header_timeout_s = {HEADER_S}\nbody_timeout_s = {BODY_S}\n"
          f"handshake_timeout_s = {HANDSHAKE_S}\nidle_timeout_s = 1\n")


def _port(world: World) -> int:
    return int(world.url.rsplit(":", 1)[1])


@contextmanager
def tcp(world: World, source: str = "127.0.0.1") -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", _port(world)), timeout=10,
                                    source_address=(source, 0))
    try:
        yield sock
    finally:
        sock.close()


@contextmanager
def tls(world: World) -> Iterator[ssl.SSLSocket]:
    """A connection whose TLS handshake is done."""
    context = ssl.create_default_context(cafile=str(world.cert))
    with tcp(world) as raw, context.wrap_socket(raw, server_hostname="localhost") as sock:
        yield sock


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True once the server closes `sock` (EOF or reset) within `seconds`; what it sends
    before closing is read and dropped."""
    deadline = time.monotonic() + seconds
    timeout = sock.gettimeout()
    sock.setblocking(False)  # TLS records that carry no data (session tickets) must not block
    try:
        while True:
            try:
                if not sock.recv(4096):
                    return True
                continue
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            except (ConnectionError, ssl.SSLError):
                return True
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                return False
    finally:
        sock.settimeout(timeout)


def page_answers_fast(world: World) -> None:
    """Another client's page answers within a second."""
    started = time.monotonic()
    r = world.session().get(world.url + "/login", timeout=5)
    assert r.status_code == 200 and time.monotonic() - started < 1.0


@pytest.fixture
def slow_world(make_world: Callable[..., World]) -> World:
    world = make_world(web=BOUNDS)
    world.add_user()
    world.start()
    return world


def test_a_client_trickling_header_lines_is_cut_off_within_the_bound(
        slow_world: World) -> None:
    with tls(slow_world) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\n")
        lines = 0
        while not closed_within(sock, 0.4):  # one header line every 0.4 s
            lines += 1
            assert time.monotonic() - started < HEADER_S + SLACK_S, "still open"
            try:
                sock.sendall(b"X-Trickle: %d\r\n" % lines)
            except (ConnectionError, ssl.SSLError):
                break
            page_answers_fast(slow_world)
        took = time.monotonic() - started
    assert lines >= 2, "the connection was open while it trickled"
    assert HEADER_S - 0.1 <= took < HEADER_S + SLACK_S
    wait_until(lambda: any("request's headers took over" in line for line in slow_world.log),
               10, "the cut-off in the log")


def test_idle_connections_are_closed_in_and_before_tls(slow_world: World) -> None:
    with tls(slow_world) as idle:
        assert closed_within(idle, HEADER_S + SLACK_S)
    with tcp(slow_world) as no_hello:  # never starts the TLS handshake
        started = time.monotonic()
        assert closed_within(no_hello, HANDSHAKE_S + SLACK_S)
        assert time.monotonic() - started >= HANDSHAKE_S - 0.1
    # Idle after an answer: closed after idle_timeout_s (1 s), not kept.
    with tls(slow_world) as kept:
        kept.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert closed_within(kept, 1 + SLACK_S)
    page_answers_fast(slow_world)
    # A browser's spare connection that never spoke is closed quietly.
    assert not any("cut off" in line for line in slow_world.log), "".join(slow_world.log)


def test_a_body_that_does_not_arrive_in_time_is_cut_off(slow_world: World) -> None:
    s = slow_world.session()
    login(s, slow_world.url)
    with tls(slow_world) as sock:
        # A same-origin post, so the app waits for the body rather than refusing it.
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n"
                     b"Sec-Fetch-Site: same-origin\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\nname=al")
        started = time.monotonic()
        assert closed_within(sock, BODY_S + SLACK_S)
        assert time.monotonic() - started >= BODY_S - 0.1
    assert s.get(slow_world.url + "/").status_code == 200
    assert not any("Traceback" in line for line in slow_world.log), "".join(slow_world.log)


def _admitted(world: World, source: str) -> Callable[[], bool]:
    def admitted() -> bool:
        with tcp(world, source) as again:
            return not closed_within(again, 0.2)
    return admitted


def test_one_client_cannot_take_every_connection(make_world: Callable[..., World]) -> None:
    world = make_world(tls=False, web="max_client_connections = 3\nheader_timeout_s = 60\n")
    world.add_user()
    world.start()
    with tcp(world, "127.0.0.2") as a, tcp(world, "127.0.0.2") as b, \
            tcp(world, "127.0.0.2") as c:
        with tcp(world, "127.0.0.2") as fourth:
            assert closed_within(fourth, 5), "the client's fourth connection is refused"
        assert not any(closed_within(x, 0) for x in (a, b, c)), "its first three are kept"
        page_answers_fast(world)  # another address is not refused
        a.close()
        wait_until(_admitted(world, "127.0.0.2"), 10, "a connection admitted once one of "
                   "the three closed")
    wait_until(lambda: any("refused 1 connection(s) over the limit (the last from "
                           "127.0.0.2, from one client)" in line for line in world.log),
               10, "the refusal in the log")


def test_connections_in_all_are_bounded(make_world: Callable[..., World]) -> None:
    world = make_world(tls=False, web="max_connections = 4\nheader_timeout_s = 60\n")
    world.start()
    with tcp(world, "127.0.0.2") as a, tcp(world, "127.0.0.3") as b, \
            tcp(world, "127.0.0.4") as c, tcp(world, "127.0.0.5") as d:
        with tcp(world, "127.0.0.6") as fifth:
            assert closed_within(fifth, 5), "a fifth connection is refused"
        assert not any(closed_within(x, 0) for x in (a, b, c, d))
        d.close()
        wait_until(_admitted(world, "127.0.0.6"), 10, "a connection admitted once one of "
                   "the four closed")


def _get(sock: socket.socket, path: str, cookie: str) -> None:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\n\r\n"
                 .encode())


def test_a_viewer_receiving_data_is_never_cut_off_but_one_that_stops_reading_is(
        make_world: Callable[..., World]) -> None:
    # The stall bound must outlast the moments a loaded machine does not run this test's
    # reader at all (1 s did not, beside other tests on two busy cores).
    stall_s = 2.5
    # Every other bound is shorter than the answer: none of them may apply to it.
    world = make_world(web=f"stall_timeout_s = {stall_s}\nheader_timeout_s = 1\n"
                           "idle_timeout_s = 1\nhandshake_timeout_s = 1\n")
    clip = world.clips()[0]["id"]
    video = world.store / "clips" / f"{clip}.mp4"
    # The viewer takes at most 16 KiB per 10 ms (1.6 MB/s): the answer lasts over 2 stalls.
    wanted = int(4 * stall_s * 1_600_000)
    video.write_bytes(video.read_bytes() * (wanted // video.stat().st_size + 1))
    size = video.stat().st_size
    world.add_user()
    world.start()
    s = world.session()
    login(s, world.url)
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    context = ssl.create_default_context(cafile=str(world.cert))

    def viewer() -> ssl.SSLSocket:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # the server must wait
        raw.settimeout(10)
        raw.connect(("127.0.0.1", _port(world)))
        return context.wrap_socket(raw, server_hostname="localhost")

    with viewer() as watching, viewer() as stopped:
        _get(stopped, f"/clips/{clip}/video", cookie)
        _get(watching, f"/clips/{clip}/video", cookie)
        started, received = time.monotonic(), b""
        while len(received) < size or b"\r\n\r\n" not in received:
            chunk = watching.recv(16384)
            assert chunk, f"cut off after {len(received)} bytes"
            received += chunk
            time.sleep(0.01)  # a viewer that takes its time, but keeps taking
        took = time.monotonic() - started
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and len(body) == size
        assert took > 2 * stall_s, "the answer lasted longer than the stall bound"
        wait_until(lambda: any("read none of the answer" in line for line in world.log),
                   10, "the stopped reader cut off")
        assert closed_within(stopped, 10)
    page_answers_fast(world)


def test_malformed_requests_get_a_400_and_one_log_line_a_minute(world: World) -> None:
    world.add_user()
    world.start()
    for _ in range(20):
        with tls(world) as sock:
            sock.sendall(b"GARBAGE \x00\x01 nonsense\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")
    s = world.session()
    assert s.get(world.url + "/login").status_code == 200  # still answering
    r = try_login(s, world.url, "alex", "wrong password")  # a line after the 400s'
    assert r.status_code == 401
    wait_until(lambda: any("web login refused" in line for line in world.log), 10,
               "the refused login's log line")
    lines = [line for line in world.log if "malformed HTTP request" in line
             or "Invalid HTTP request" in line]
    assert len(lines) == 1 and "answered 1 malformed HTTP request(s)" in lines[0], lines
