"""Push's HTTP client on the standard library (`http.client` and `ssl`): one request per call.

It implements the uploader's `Transport` seam (`request(method, url, headers, body, deadline)`
and `close()`, raising `uplink.errors` DestinationRefused, TransientUploadError or
DeadlineExceeded) with the same protections, without the 6 MB that `requests` costs the web
process:

- one **total** deadline: per-read timeouts let a server trickling a byte at a time keep a
  call alive for ever, so a timer thread shuts the call's socket down when the deadline
  passes, which wakes a blocked connect, handshake, send or read; the name lookup runs on a
  helper thread and is abandoned at the deadline;
- no redirect is followed (http.client never does; a 3xx is refused here);
- nothing is read from the environment (http.client knows no proxies or .netrc);
- TLS verified against the system's CAs (`ssl.create_default_context()`), host name included;
- only to the push services the `EndpointPolicy` allows, and only to addresses it allows:
  the name is resolved here, every address it gives is checked before any connection
  (loopback, private, link-local and other special addresses refused), and the socket
  connects to an address that was checked, never to another lookup's answer.

`resolver` and `connector` are seams: the lookup (host, port, deadline) -> getaddrinfo
tuples, and the connect of one socket to one checked address.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from common.httpseam import Headers, Response
from common.netdeadline import AddrInfo, DeadlineWatch, resolve
from device.web.push.endpoints import EndpointPolicy
from uplink.errors import DeadlineExceeded, DestinationRefused, TransientUploadError
from uplink.protocol.urls import Destination, parse_destination

Resolver = Callable[[str, int, float], list[AddrInfo]]
Connector = Callable[[socket.socket, Any], None]


class AddressRefused(DestinationRefused):
    """The endpoint's name resolved to an address the device must not connect to."""


def _connect(sock: socket.socket, address: Any) -> None:
    sock.connect(address)

BODY_CAP = 64 * 1024  # a push service's answer is a status and a short reason
CONNECT_TIMEOUT_S = 5.0
_READ_SIZE = 4096


class _Connection(http.client.HTTPConnection):
    """One connection whose sockets the call's watch can cut, TLS wrapped here."""

    def __init__(self, where: Destination, *, timeout: float, deadline: float,
                 register: Callable[[socket.socket], None],
                 context: ssl.SSLContext | None, addresses: list[AddrInfo],
                 connector: Connector) -> None:
        super().__init__(where.host, where.port, timeout=timeout)
        if context is not None:
            self.default_port = 443  # so the Host header names no port for https
        self._where = where
        self._deadline = deadline
        self._register = register
        self._context = context
        self._addresses = addresses
        self._connector = connector

    def connect(self) -> None:
        sock = self._open()
        if self._context is not None:
            # The handshake runs after the wrapped socket is registered: a server that
            # trickles its certificate is cut at the deadline too.
            tls = self._context.wrap_socket(sock, server_hostname=self._where.host,
                                            do_handshake_on_connect=False)
            self._register(tls)
            tls.do_handshake()
            sock = tls
        self.sock = sock

    def _open(self) -> socket.socket:
        """A socket connected to the first checked address that answers."""
        last: OSError | None = None
        for family, kind, proto, _, address in self._addresses:
            sock = socket.socket(family, kind, proto)
            self._register(sock)
            try:
                sock.settimeout(self.timeout)
                self._connector(sock, address)
                return sock
            except OSError as exc:
                last = exc
                sock.close()
        raise last or OSError(f"{self._where.host} has no address")


class StdlibTransport:
    """`Transport` over `http.client`: total deadline, no redirects, no environment, TLS
    verified, only where `policy` allows; one connection per call (pushes are rare), so
    `close` has nothing to do."""

    def __init__(self, policy: EndpointPolicy, *,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 context: ssl.SSLContext | None = None,
                 resolver: Resolver = resolve, connector: Connector = _connect) -> None:
        self.policy = policy
        self.connect_timeout_s = connect_timeout_s
        self._context = context or ssl.create_default_context()
        self._resolver = resolver
        self._connector = connector

    def _destination(self, url: str) -> Destination:
        try:
            where = parse_destination(url)
        except ValueError as exc:
            raise DestinationRefused(f"refusing {url!r}: {exc}") from None
        why = self.policy.refusal(url)
        if why is not None:
            raise DestinationRefused(f"refusing {where.scheme}://{where.host}: {why}")
        return where

    def _addresses(self, where: Destination, deadline: float) -> list[AddrInfo]:
        """The host's addresses, every one allowed by the policy (else AddressRefused)."""
        found = self._resolver(where.host.strip("[]"), where.port, deadline)
        if not found:
            raise OSError(f"{where.host} has no address")
        for info in found:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            why = self.policy.address_refusal(where, address)
            if why is not None:
                raise AddressRefused(f"refusing {where.scheme}://{where.host}: {why}")
        return found

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
        deadline: float,
    ) -> Response:
        """One exchange; raises DestinationRefused, TransientUploadError or DeadlineExceeded."""
        where = self._destination(url)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(f"{method} {url}: deadline passed before the call")
        try:
            addresses = self._addresses(where, deadline)
        except (TimeoutError, OSError) as exc:
            if isinstance(exc, TimeoutError) or time.monotonic() >= deadline:
                raise DeadlineExceeded(f"{method} {where.host}: {exc}") from None
            raise TransientUploadError(f"{method} {where.host}: looking it up: {exc}") from None
        watch = DeadlineWatch()
        conn = _Connection(where, timeout=min(self.connect_timeout_s, remaining),
                           deadline=deadline, register=watch.add,
                           context=self._context if where.scheme == "https" else None,
                           addresses=addresses, connector=self._connector)
        try:
            with watch.armed(max(0.001, deadline - time.monotonic())):
                response = self._exchange(conn, method, url, target, headers, body, deadline)
        except (http.client.HTTPException, OSError) as exc:
            if watch.expired or time.monotonic() >= deadline:
                raise DeadlineExceeded(f"{method} {url}: deadline passed") from exc
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise DestinationRefused(f"{method} {url}: TLS certificate not trusted: "
                                         f"{exc.verify_message}") from exc
            raise TransientUploadError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()
        if watch.expired:  # a cut socket can look like a body that ended early
            raise DeadlineExceeded(f"{method} {url}: deadline passed")
        return response

    @staticmethod
    def _exchange(conn: _Connection, method: str, url: str, target: str,
                  headers: Mapping[str, str], body: bytes | None, deadline: float) -> Response:
        conn.connect()
        assert conn.sock is not None
        # Reads and writes wait at most what is left; the watch cuts a trickle at the end.
        conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
        conn.request(method, target, body=body, headers=dict(headers))
        resp = conn.getresponse()
        if 300 <= resp.status < 400:
            raise DestinationRefused(f"{method} {url}: refusing redirect {resp.status} "
                                     f"to {resp.getheader('Location')!r}")
        chunks: list[bytes] = []
        size = 0
        while size < BODY_CAP:
            if time.monotonic() >= deadline:
                raise DeadlineExceeded(f"{method} {url}: deadline passed reading the body")
            chunk = resp.read1(_READ_SIZE)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return Response(resp.status, Headers(dict(resp.getheaders())),
                        b"".join(chunks)[:BODY_CAP])

    def close(self) -> None:
        pass
