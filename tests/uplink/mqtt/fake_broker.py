"""A tiny MQTT v5 broker on a real loopback socket: shows the bytes the link sends, and sends
it things a compliant broker never would (packets above the announced maximum size)."""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
import threading
from dataclasses import dataclass, field

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14

# MQTT v5 property ids -> value type, for the properties CONNECT and its will may carry.
_PROPERTY_TYPES = {
    0x01: "byte", 0x02: "u32", 0x03: "str", 0x08: "str", 0x09: "bin", 0x11: "u32",
    0x15: "str", 0x16: "bin", 0x17: "byte", 0x18: "u32", 0x19: "byte", 0x21: "u16",
    0x22: "u16", 0x27: "u32",
}


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + varint(len(body)) + body


def mqtt_str(s: str | bytes) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(raw)) + raw


def publish_packet(topic: str, payload: bytes, mid: int) -> bytes:
    """A QoS 1 PUBLISH with no properties."""
    return packet(0x32, mqtt_str(topic) + struct.pack("!H", mid) + varint(0) + payload)


class Reader:
    """Cursor over a packet body."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        assert len(chunk) == n, "packet truncated"
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack("!H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack("!I", self.take(4))[0])

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            b = self.u8()
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    def binary(self) -> bytes:
        return self.take(self.u16())

    def properties(self) -> dict[int, object]:
        end = self.varint() + self.pos
        props: dict[int, object] = {}
        while self.pos < end:
            pid = self.varint()
            kind = _PROPERTY_TYPES[pid]
            props[pid] = {"byte": self.u8, "u16": self.u16, "u32": self.u32,
                          "str": lambda: self.binary().decode(), "bin": self.binary}[kind]()
        return props


@dataclass
class Connect:
    flags: int
    keepalive: int
    properties: dict[int, object]
    client_id: str
    will_properties: dict[int, object] = field(default_factory=dict)
    will_topic: str = ""
    will_payload: bytes = b""
    username: str | None = None
    password: bytes | None = None


def parse_connect(body: bytes) -> Connect:
    r = Reader(body)
    assert r.binary() == b"MQTT" and r.u8() == 5, "not an MQTT v5 CONNECT"
    c = Connect(flags=r.u8(), keepalive=r.u16(), properties=r.properties(),
                client_id=r.binary().decode())
    if c.flags & 0x04:
        c.will_properties = r.properties()
        c.will_topic, c.will_payload = r.binary().decode(), r.binary()
    if c.flags & 0x80:
        c.username = r.binary().decode()
    if c.flags & 0x40:
        c.password = r.binary()
    return c


def suback_packet(mid: int, codes: bytes) -> bytes:
    """A v5 SUBACK with no properties: one reason code per topic (0x00-0x02 granted QoS)."""
    return packet(SUBACK << 4, struct.pack("!H", mid) + varint(0) + codes)


def subscribe_topics(body: bytes) -> tuple[int, list[str]]:
    """(packet id, topic filters) of a v5 SUBSCRIBE body."""
    r = Reader(body)
    mid = r.u16()
    r.properties()
    topics = []
    while r.pos < len(body):
        topics.append(r.binary().decode())
        r.u8()  # subscription options
    return mid, topics


class FakeBroker:
    """Accepts one client at a time; answers CONNECT, SUBSCRIBE, PINGREQ and QoS 1 PUBLISHes.

    Every packet the client sends is recorded as (type, flags, body) in `received`. With
    `auto_suback=False` SUBSCRIBEs go unanswered until the test calls `suback()`. `drop()`
    closes the client's connection; the next one is accepted on the same port.
    """

    def __init__(self, auto_suback: bool = True) -> None:
        self.auto_suback = auto_suback
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self.received: queue.Queue[tuple[int, int, bytes]] = queue.Queue()
        self._conn: socket.socket | None = None
        self._closing = False
        self.session_present = False  # what the next CONNACK says
        self._send_lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def send(self, data: bytes) -> None:
        assert self._conn is not None, "no client connected"
        with self._send_lock:
            self._conn.sendall(data)

    def expect(self, kind: int, timeout: float = 10.0) -> bytes:
        """Body of the next packet of type `kind` (other packets are skipped)."""
        while True:
            got, _, body = self.received.get(timeout=timeout)
            if got == kind:
                return body

    def suback(self, mid: int, codes: bytes) -> None:
        self.send(suback_packet(mid, codes))

    def drop(self) -> None:
        """Close the client's connection as a broker going away would (no DISCONNECT)."""
        conn = self._conn
        assert conn is not None, "no client connected"
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._send_lock:
                self._conn = conn
            self._serve_one(conn)
            conn.close()

    def _serve_one(self, conn: socket.socket) -> None:
        try:
            while True:
                first = self._read(conn, 1)[0]
                length, shift = 0, 0
                while True:
                    b = self._read(conn, 1)[0]
                    length |= (b & 0x7F) << shift
                    shift += 7
                    if not b & 0x80:
                        break
                body = self._read(conn, length)
                self.received.put((first >> 4, first & 0x0F, body))
                self._answer(first >> 4, first & 0x0F, body)
        except (OSError, EOFError):
            return

    def _answer(self, kind: int, flags: int, body: bytes) -> None:
        if kind == CONNECT:
            ack_flags = b"\x01" if self.session_present else b"\x00"
            self.send(packet(CONNACK << 4, ack_flags + b"\x00" + varint(0)))
        elif kind == SUBSCRIBE and self.auto_suback:
            mid, topics = subscribe_topics(body)
            self.suback(mid, b"\x01" * len(topics))
        elif kind == PINGREQ:
            self.send(packet(PINGRESP << 4, b""))
        elif kind == PUBLISH and flags & 0x06:
            r = Reader(body)
            r.binary()
            self.send(packet(PUBACK << 4, struct.pack("!H", r.u16())))

    @staticmethod
    def _read(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def close(self) -> None:
        self._closing = True
        for s in (self._conn, self._server):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv/accept
                s.close()
        self._thread.join(5)
