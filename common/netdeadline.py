"""An HTTP call's total deadline at the socket level, for the uploader's and Web Push's
transports alike: the connection opened within the deadline, the name lookup included, and a
watch that shuts the call's sockets down when the deadline passes.

getaddrinfo() has no timeout of its own: a resolver that does not answer holds it for
timeout x attempts x servers (15 s and more with the C library's defaults). The lookup runs on
a helper thread here and the call gives up at its deadline; the thread ends when the C library
does. Each socket is handed to the deadline watch before it connects.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

AddrInfo = tuple[Any, ...]


def resolve(host: str, port: int, deadline: float | None) -> list[AddrInfo]:
    """getaddrinfo(host, port) for TCP; TimeoutError if it has not answered by `deadline`."""
    if deadline is None:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    box: list[Any] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            box.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except OSError as exc:
            box.append(exc)
        finally:
            done.set()

    threading.Thread(target=look_up, name="dns-lookup", daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise TimeoutError(f"looking up {host} did not finish before the call's deadline")
    if isinstance(box[0], OSError):
        raise box[0]
    return list(box[0])


def open_socket(
    host: str, port: int, *, timeout: float | None, deadline: float | None,
    source_address: tuple[str, int] | None = None,
    options: Sequence[tuple[int, int, Any]] | None = None,
    register: Callable[[socket.socket], None] = lambda sock: None,
) -> socket.socket:
    """A connected TCP socket to the first of host's addresses that answers (as urllib3's
    create_connection), with the lookup bounded by `deadline`."""
    last: OSError | None = None
    for family, kind, proto, _, address in resolve(host.strip("[]"), port, deadline):
        sock = socket.socket(family, kind, proto)
        register(sock)
        try:
            for option in options or ():
                sock.setsockopt(*option)
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
            return sock
        except OSError as exc:
            last = exc
            sock.close()
    raise last or OSError(f"{host} has no address")


class DeadlineWatch:
    """The sockets one call uses, shut down from a timer thread when its deadline passes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self.expired = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                _shut(sock)

    def fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._socks:
                _shut(sock)

    @contextlib.contextmanager
    def armed(self, seconds: float) -> Iterator[None]:
        """Fire from a timer thread `seconds` from now, unless the block ends first."""
        timer = threading.Timer(seconds, self.fire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()


def _shut(sock: socket.socket) -> None:
    # shutdown() from another thread wakes a recv()/send()/connect() blocked in the caller's
    # thread; close() would not, and could hand the fd number to someone else meanwhile. The
    # plain socket method, because SSLSocket.shutdown also drops the TLS object under the
    # reader.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
