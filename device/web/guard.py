"""Slow and greedy clients cut off, at the socket and in uvicorn's HTTP/1.1 protocol.

uvicorn bounds only the idle time after an answer (`timeout_keep_alive`). The rest is here:

- `ListeningSocket` counts the connections it accepts, per client and in all, and closes one
  over either limit at once (a trusted proxy carries many clients: its connections count
  only in all). A connection must finish its TLS handshake within `handshake_s` or is shut.
- `protocol(connections)` is uvicorn's h11 protocol with deadlines: a request's headers
  within `header_s` of the connection opening or of the previous answer, its body within
  `body_s` of the headers; and an answer the client stops reading for `stall_s` (its write
  buffer full all that time) is cut off. A viewer that keeps receiving video, however long
  the answer, meets none of these: only receiving a request and a full buffer are timed.
- `SparseInvalid` keeps uvicorn's line for each malformed request (anyone can send them)
  to one a minute, with how many there were.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

import h11

from config.web import WebConfig
from device.web.sources import Proxies, source_key
from device.web.uvicorn_parts import H11Protocol

log = logging.getLogger("doorcam.web")
LOG_EVERY_S = 60.0  # refusals and cut-offs are logged at most this often


@dataclass(frozen=True)
class Limits:
    header_s: float
    body_s: float
    idle_s: int
    handshake_s: float
    stall_s: float
    max_connections: int
    max_client_connections: int

    @classmethod
    def of(cls, web: WebConfig) -> Limits:
        return cls(web.header_timeout_s, web.body_timeout_s, web.idle_timeout_s,
                   web.handshake_timeout_s, web.stall_timeout_s, web.max_connections,
                   web.max_client_connections)


class _Accepted(socket.socket):
    """An accepted connection that leaves its count when it is closed."""

    connections: Connections | None = None
    key: str | None = None
    handshake: asyncio.TimerHandle | None = None

    def close(self) -> None:
        connections, self.connections = self.connections, None
        if connections is not None:
            connections.release(self)
        super().close()


class Connections:
    """Open connections by client and in all. Used from the event loop's thread only."""

    def __init__(self, limits: Limits, proxies: Proxies) -> None:
        self.limits = limits
        self.proxies = proxies
        self.total = 0
        self.by_client: dict[str, int] = {}
        self.by_fd: dict[int, _Accepted] = {}
        self._refused = 0
        self._refusals_logged = float("-inf")
        self._cut = 0
        self._cuts_logged = float("-inf")

    def admit(self, conn: _Accepted, peer: str) -> bool:
        key = None if self.proxies.trusts(peer) else source_key(peer)
        over = ("in all" if self.total >= self.limits.max_connections else
                "from one client" if key is not None and self.by_client.get(key, 0)
                >= self.limits.max_client_connections else None)
        if over is not None:
            self._note_refusal(peer, over)
            return False
        self.total += 1
        if key is not None:
            self.by_client[key] = self.by_client.get(key, 0) + 1
        conn.connections, conn.key = self, key
        self.by_fd[conn.fileno()] = conn
        conn.handshake = asyncio.get_running_loop().call_later(
            self.limits.handshake_s, _shut, conn)
        return True

    def established(self, fd: int) -> None:
        """The connection on `fd` reached HTTP (its TLS handshake, if any, is done)."""
        conn = self.by_fd.get(fd)
        if conn is not None and conn.handshake is not None:
            conn.handshake.cancel()
            conn.handshake = None

    def release(self, conn: _Accepted) -> None:
        if conn.handshake is not None:
            conn.handshake.cancel()
            conn.handshake = None
        self.by_fd.pop(conn.fileno(), None)
        self.total -= 1
        if conn.key is not None:
            left = self.by_client.get(conn.key, 1) - 1
            if left > 0:
                self.by_client[conn.key] = left
            else:
                self.by_client.pop(conn.key, None)

    def note_cut(self, peer: str, why: str) -> None:
        """A client was cut off: logged at most once a minute, with how many since."""
        self._cut += 1
        now = time.monotonic()
        if now - self._cuts_logged >= LOG_EVERY_S:
            log.info("cut off %d slow client(s) (the last: %s, %s)", self._cut, peer, why)
            self._cut, self._cuts_logged = 0, now

    def _note_refusal(self, peer: str, over: str) -> None:
        self._refused += 1
        now = time.monotonic()
        if now - self._refusals_logged >= LOG_EVERY_S:
            log.warning("refused %d connection(s) over the limit (the last from %s, %s)",
                        self._refused, peer, over)
            self._refused, self._refusals_logged = 0, now


def _shut(conn: _Accepted) -> None:
    """The TLS handshake took too long: end the connection (its transport then closes)."""
    conn.handshake = None
    if conn.fileno() >= 0:
        with contextlib.suppress(OSError):  # already gone
            conn.shutdown(socket.SHUT_RDWR)


class ListeningSocket(socket.socket):
    """The server's socket: `accept` admits a connection only within the limits."""

    connections: Connections | None = None

    def accept(self) -> tuple[socket.socket, Any]:
        while True:
            fd, addr = self._accept()  # type: ignore[attr-defined]
            conn = _Accepted(self.family, self.type, self.proto, fileno=fd)
            if socket.getdefaulttimeout() is None and self.gettimeout():
                conn.setblocking(True)
            peer = addr[0] if isinstance(addr, tuple) else str(addr)
            if self.connections is None or self.connections.admit(conn, peer):
                return conn, addr
            conn.close()


class _GuardedH11(H11Protocol):
    counted: Connections  # set on the subclass `protocol` makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: str | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None
        self._heard = False  # a byte arrived in the current phase

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self.counted.established(sock.fileno())
        self._watch()

    def data_received(self, data: bytes) -> None:
        self._heard = True
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall is None:
            seconds = self.counted.limits.stall_s
            self._stall = self.loop.call_later(
                seconds, self._cut, f"it read none of the answer for {seconds:g} s")

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _watch(self) -> None:
        """Time what is being received: a request's headers, then its body; nothing once
        the request is in (the answer is the app's, and a viewer's)."""
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        phase = "headers" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._phase:
            return
        self._disarm()
        self._phase, self._heard = phase, False
        limits = self.counted.limits
        if phase is not None:
            seconds = limits.header_s if phase == "headers" else limits.body_s
            self._deadline = self.loop.call_later(
                seconds, self._cut, f"its request's {phase} took over {seconds:g} s")

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = None

    def _cut(self, why: str) -> None:
        # A connection that never sent a byte is a browser's spare (preconnected) one:
        # closing it is routine, not worth the owner's log.
        quiet = self._phase == "headers" and not self._heard
        self._deadline = self._stall = None
        if self.transport is not None and not self.transport.is_closing():
            peer = self.client[0] if self.client else "a client"
            if quiet:
                log.debug("closed %s: %s", peer, why)
            else:
                self.counted.note_cut(peer, why)
            self.transport.abort()


def protocol(connections: Connections) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with the deadlines of `connections.limits`, for `Config(http=)`."""
    return type("GuardedH11", (_GuardedH11,), {"counted": connections})


INVALID = "Invalid HTTP request received."  # what uvicorn's h11 protocol logs for each


class SparseInvalid(logging.Filter):
    """On uvicorn's error logger: its malformed-request line at most once every
    LOG_EVERY_S, saying how many arrived since the last one written."""

    def __init__(self) -> None:
        super().__init__()
        self._count = 0
        self._logged = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != INVALID:
            return True
        self._count += 1
        now = time.monotonic()
        if now - self._logged < LOG_EVERY_S:
            return False
        record.msg = "answered %d malformed HTTP request(s) with 400 (logged once a minute)"
        record.args = (self._count,)
        self._count, self._logged = 0, now
        return True


def quiet_invalid_requests() -> None:
    """Install `SparseInvalid` on uvicorn's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, SparseInvalid) for f in logger.filters):
        logger.addFilter(SparseInvalid())
