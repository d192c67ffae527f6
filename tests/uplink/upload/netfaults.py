"""Real loopback network faults: a byte-cutting/corrupting TCP proxy and scripted raw servers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass


def _listener() -> socket.socket:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(0.1)
    return srv


class _Acceptor:
    """Accepts connections on a loopback port, counting them, one thread per connection."""

    def __init__(self) -> None:
        self._srv = _listener()
        self.port: int = self._srv.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(conn)
            t = threading.Thread(target=self._serve_guarded, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve_guarded(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        self._srv.close()
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
        self._thread.join(2)


class FaultProxy(_Acceptor):
    """Forwards to 127.0.0.1:`target`; cuts each connection after its byte budget (client→server).

    `budgets` yields one budget per connection (None = unlimited); `corrupt_at` flips one
    byte at that position of the overall client→server stream, once; once that stream
    reaches `hold_at` (to within one read), nothing more goes up until `release` is set, so
    the server is caught with a request half received (`holding` is set).
    """

    def __init__(self, target: int, budgets: Iterator[int | None] | None = None,
                 corrupt_at: int | None = None, hold_at: int | None = None) -> None:
        self.target = target
        self._budgets = budgets
        self.corrupt_at = corrupt_at
        self.hold_at = hold_at
        self.holding = threading.Event()
        self.release = threading.Event()
        self.bytes_up = 0
        self.cuts = 0
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        with self._lock:
            budget = next(self._budgets, None) if self._budgets is not None else None
        up = socket.create_connection(("127.0.0.1", self.target), timeout=30)
        with self._lock:
            self._open.append(up)
        back = threading.Thread(target=self._pump_back, args=(up, conn), daemon=True)
        back.start()
        sent = 0
        try:
            while budget is None or sent < budget:
                want = 65536 if budget is None else min(65536, budget - sent)
                data = conn.recv(want)
                if not data:
                    break
                self._maybe_hold(len(data))
                data = self._maybe_corrupt(data)
                up.sendall(data)
                sent += len(data)
            else:
                with self._lock:
                    self.cuts += 1
        finally:
            for s in (conn, up):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            back.join(5)
            up.close()

    def _maybe_hold(self, size: int) -> None:
        with self._lock:
            at = self.hold_at
            if at is None or self.bytes_up + size < at:
                return
            self.hold_at = None
        self.holding.set()
        self.release.wait()

    def stop(self) -> None:
        self.release.set()
        super().stop()

    def _maybe_corrupt(self, data: bytes) -> bytes:
        with self._lock:
            start = self.bytes_up
            self.bytes_up += len(data)
            at = self.corrupt_at
            if at is None or not start <= at < start + len(data):
                return data
            self.corrupt_at = None
        buf = bytearray(data)
        buf[at - start] ^= 0xFF
        return bytes(buf)

    @staticmethod
    def _pump_back(up: socket.socket, conn: socket.socket) -> None:
        try:
            while data := up.recv(65536):
                conn.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


def http_response(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{k}: {v}" for k, v in {"Content-Length": str(len(body)), **(headers or {})}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


Script = Callable[[RawRequest, socket.socket], bool]


class ScriptedServer(_Acceptor):
    """A raw HTTP/1.1 server: `script(request, conn)` answers, returning True to keep alive."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[RawRequest] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/files/"

    def methods(self) -> list[str]:
        with self._lock:
            return [r.method for r in self.requests]

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            first, *rest = head.decode("latin-1").split("\r\n")
            method, path, _ = first.split(" ", 2)
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (h.partition(":") for h in rest)}
            length = int(headers.get("content-length", "0"))
            while len(buf) < length:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            req = RawRequest(method, path, headers, buf[:length])
            buf = buf[length:]
            with self._lock:
                self.requests.append(req)
            if not self.script(req, conn):
                return


TUS_OPTIONS = {"Tus-Resumable": "1.0.0", "Tus-Version": "1.0.0",
               "Tus-Extension": "creation,checksum", "Tus-Checksum-Algorithm": "sha256"}
Override = Callable[[RawRequest, int], "bytes | None"]


def tus_script(override: Override | None = None) -> Script:
    """A one-upload tus server in memory; `override(request, n)` may answer request n first."""
    state = {"offset": 0, "n": 0}

    def script(req: RawRequest, conn: socket.socket) -> bool:
        state["n"] += 1
        answer = override(req, state["n"]) if override else None
        if answer is None:
            answer = _tus_default(req, state)
        conn.sendall(answer)
        return True

    return script


def _tus_default(req: RawRequest, state: dict[str, int]) -> bytes:
    tus = {"Tus-Resumable": "1.0.0"}
    if req.method == "OPTIONS":
        return http_response(204, TUS_OPTIONS)
    if req.method == "POST":
        return http_response(201, {**tus, "Location": "/files/one"})
    if req.method == "HEAD":
        return http_response(200, {**tus, "Upload-Offset": str(state["offset"])})
    if req.method == "PATCH":
        state["offset"] += len(req.body)
        return http_response(204, {**tus, "Upload-Offset": str(state["offset"])})
    return http_response(405)
