"""The HTTP seam: one `request` call with a hard total deadline, and the requests-backed one.

This is the only module that imports `requests`. Every other part of the uploader speaks to
the network through `Transport`, so what can leave the device is decided here.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import parse_url

from common.httpseam import Headers, Response
from common.netdeadline import DeadlineWatch, open_socket
from config.upload import UploadConfig
from uplink.errors import DeadlineExceeded, DestinationRefused, TransientUploadError
from uplink.upload.urls import check_scheme

BODY_CAP = 64 * 1024
_READ_SIZE = 4096


_current = threading.local()


def _register(sock: socket.socket | None) -> None:
    watch: DeadlineWatch | None = getattr(_current, "watch", None)
    if watch is not None and sock is not None:
        watch.add(sock)


def _connect(conn: HTTPConnection) -> socket.socket:
    """urllib3's _new_conn, with the name lookup bounded by the call's deadline."""
    timeout = conn.timeout if isinstance(conn.timeout, (int, float)) or conn.timeout is None \
        else socket.getdefaulttimeout()
    try:
        return open_socket(conn._dns_host, conn.port, timeout=timeout,
                           deadline=getattr(_current, "deadline", None),
                           source_address=conn.source_address, options=conn.socket_options,
                           register=_register)
    except socket.gaierror as e:
        raise NameResolutionError(conn.host, conn, e) from e
    except TimeoutError as e:
        raise ConnectTimeoutError(conn, f"connecting to {conn.host}: {e}") from e
    except OSError as e:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {e}") from e


class DeadlineWatchedHTTP(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)  # a kept-alive connection made by an earlier call
        super().request(*args, **kwargs)


class DeadlineWatchedHTTPS(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _connect(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = DeadlineWatchedHTTP


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineWatchedHTTPS


class DeadlineWatchedAdapter(HTTPAdapter):
    """An adapter whose connections report their sockets to the calling thread's watch."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class RequestsTransport:
    """`Transport` over a `requests.Session`: no redirects, no environment, TLS verified."""

    def __init__(self, cfg: UploadConfig, *, ca_bundle: str | None = None,
                 body_cap: int = BODY_CAP) -> None:
        self._cfg = cfg
        self._body_cap = body_cap
        self._verify: bool | str = ca_bundle or cfg.ca_file or True
        self._session = requests.Session()
        self._session.trust_env = False  # no *_PROXY, no .netrc, no REQUESTS_CA_BUNDLE
        self._session.headers.update(
            {"User-Agent": "doorcam-uplink/1", "Accept-Encoding": "identity"})
        self._session.mount("https://", DeadlineWatchedAdapter(max_retries=0))
        self._session.mount("http://", DeadlineWatchedAdapter(max_retries=0))

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
        deadline: float,
    ) -> Response:
        """One exchange; raises DestinationRefused, TransientUploadError or DeadlineExceeded."""
        where = check_scheme(url, allow_insecure_loopback=self._cfg.allow_insecure_loopback)
        parsed = parse_url(url)  # the parser requests will use must agree with ours
        if (parsed.scheme, (parsed.host or "").strip("[]").lower()) != (where.scheme, where.host):
            raise DestinationRefused(f"URL parsers disagree about {url!r}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(f"{method} {url}: deadline passed before the call")
        watch = DeadlineWatch()
        _current.watch, _current.deadline = watch, deadline
        try:
            with watch.armed(remaining):
                response = self._exchange(method, url, headers, body, deadline, remaining)
        except (requests.RequestException, OSError) as exc:
            if watch.expired or time.monotonic() >= deadline:
                raise DeadlineExceeded(f"{method} {url}: deadline passed") from exc
            if _cert_failed(exc):
                raise DestinationRefused(f"{method} {url}: TLS certificate not trusted") from exc
            raise TransientUploadError(f"{method} {url}: {_why(exc)}") from exc
        finally:
            _current.watch = _current.deadline = None
        if watch.expired:  # a cut socket can look like a body that ended early
            raise DeadlineExceeded(f"{method} {url}: deadline passed")
        return response

    def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
        deadline: float, remaining: float,
    ) -> Response:
        cfg = self._cfg
        with self._session.request(
            method, url, headers=dict(headers), data=body, stream=True,
            allow_redirects=False, proxies={}, verify=self._verify,
            timeout=(min(cfg.connect_timeout_s, remaining), min(cfg.read_timeout_s, remaining)),
        ) as resp:
            if 300 <= resp.status_code < 400:
                raise DestinationRefused(
                    f"{method} {url}: refusing redirect {resp.status_code} "
                    f"to {resp.headers.get('Location')!r}")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_content(_READ_SIZE):
                if time.monotonic() >= deadline:
                    raise DeadlineExceeded(f"{method} {url}: deadline passed reading the body")
                chunks.append(chunk)
                size += len(chunk)
                if size >= self._body_cap:
                    break  # the rest is never read; closing drops the connection
            return Response(resp.status_code, Headers(resp.headers),
                            b"".join(chunks)[:self._body_cap])

    def close(self) -> None:
        self._session.close()


def _cert_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__ or _first_arg_exc(seen)
    return False


def _first_arg_exc(exc: BaseException) -> BaseException | None:
    # urllib3 wraps its reason in MaxRetryError.reason rather than in __cause__.
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    arg = exc.args[0] if exc.args else None
    return arg if isinstance(arg, BaseException) else None


def _why(exc: BaseException) -> str:
    """The cause in words ("Connection refused"), not the library's chain of object reprs."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.strerror:
            return str(e.strerror)
        reason = getattr(e, "reason", None)
        e = reason if isinstance(reason, BaseException) else (e.__cause__ or e.__context__)
    text = re.sub(r"<[^<>]* object at 0x[0-9a-fA-F]+>:?\s*", "", str(exc))
    return " ".join(text.split()) or type(exc).__name__
