"""Upload URLs: one strict parser (`parse_destination`) for the request check at receive
time (`check_upload_url`: https, to a host its agency lists) and the uploader's checks
before every connection (`uplink.upload.urls`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from uplink.errors import RequestRejected

DEFAULT_PORTS: Final = {"https": 443, "http": 80}


@dataclass(frozen=True)
class Destination:
    """Where an upload goes: scheme, IDNA-normalised lower-case host, port."""

    scheme: str
    host: str
    port: int


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost; no DNS is consulted."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_destination(url: str) -> Destination:
    """Parse `url` strictly; ValueError (with the reason) for anything a parser could read
    two ways or that names no usable host."""
    # Control characters, spaces, backslashes and non-ASCII are where URL parsers disagree
    # (urllib vs urllib3), which is how "evil\\@good" style tricks pick the wrong host.
    if not url.isascii() or any(c <= " " or c in "\\\x7f" for c in url):
        raise ValueError("URL has unsafe or non-ASCII characters")
    try:
        parts = urlsplit(url)
        explicit_port = parts.port
    except ValueError as exc:
        raise ValueError(f"unparsable URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"scheme {scheme[:16]!r} is not https")
    if "@" in parts.netloc:
        raise ValueError("URL carries user information")
    if explicit_port == 0:
        raise ValueError("port 0")
    return Destination(scheme, normalise_host(parts.hostname or ""),
                       explicit_port or DEFAULT_PORTS[scheme])


def normalise_host(host: str) -> str:
    """Lower-case ASCII (IDNA) form of a host name; IPv6 without brackets. ValueError if bad."""
    host = host.strip("[]") if host.startswith("[") else host
    host = host.rstrip(".").lower()
    if not host:
        raise ValueError("empty host")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
        ascii_host.encode("ascii").decode("idna")  # rejects malformed xn-- labels
    except UnicodeError as exc:
        raise ValueError(f"not a valid host name: {exc}") from None
    if any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-." for c in ascii_host):
        raise ValueError("host name has characters outside LDH")
    return ascii_host


def parse_host_entry(entry: str) -> tuple[str, int | None]:
    """A registry `upload_hosts` entry: `host`, `host:port` or `[v6]:port`."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port_text = rest.removeprefix(":") if rest else None
        if rest and not rest.startswith(":"):
            raise ValueError(f"bad host entry {entry!r}")
    elif entry.count(":") == 1:
        host, port_text = entry.split(":")
    else:
        host, port_text = entry, None
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"bad port in {entry!r}")
        port = int(port_text)
    return normalise_host(host), port


def check_upload_url(url: str, allowed_hosts: Iterable[str], *,
                     allow_insecure_loopback: bool = False) -> Destination:
    """The destination of `url`, or `RequestRejected` ("insecure_url"/"host_not_allowed")."""
    try:
        where = parse_destination(url)
    except ValueError as exc:
        raise RequestRejected("insecure_url", str(exc)) from None
    scheme, host, port = where.scheme, where.host, where.port
    if scheme == "http" and not (allow_insecure_loopback and is_loopback(host)):
        raise RequestRejected("insecure_url", "plain http is only allowed to loopback in dev")
    allowed: set[tuple[str, int | None]] = set()
    for entry in allowed_hosts:
        try:
            allowed.add(parse_host_entry(entry))
        except ValueError:
            continue  # a bad registry entry allows nothing
    ok = (host, port) in allowed or (port == DEFAULT_PORTS[scheme] and (host, None) in allowed)
    if not ok:
        shown = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
        raise RequestRejected("host_not_allowed", f"{shown} is not an allowed upload host")
    return where
