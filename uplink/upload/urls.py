"""Which URLs the uploader may talk to, decided before any connection is made."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from uplink.errors import DestinationRefused

DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class Origin:
    """Scheme, lower-case host (IPv6 without brackets) and explicit port of a URL."""

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


def origin(url: str) -> Origin:
    """Parse `url` strictly; anything a parser could read two ways is refused."""
    # Control characters, spaces, backslashes and non-ASCII are where URL parsers disagree
    # (urllib vs urllib3), which is how "evil\\@good" style tricks pick the wrong host.
    if not url.isascii() or any(c <= " " or c in "\\\x7f" for c in url):
        raise DestinationRefused(f"refusing URL with unsafe characters: {url!r}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise DestinationRefused(f"refusing URL scheme {scheme!r}: {url!r}")
    if "@" in parts.netloc:
        raise DestinationRefused(f"refusing URL with credentials: {url!r}")
    host = parts.hostname or ""
    if not host:
        raise DestinationRefused(f"refusing URL without a host: {url!r}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise DestinationRefused(f"refusing URL with a bad port: {url!r}") from None
    return Origin(scheme, host.rstrip(".").lower(), port)


def check_scheme(url: str, *, allow_insecure_loopback: bool) -> Origin:
    """https always; plain http only to a loopback host and only with the dev flag."""
    where = origin(url)
    if where.scheme == "https":
        return where
    if allow_insecure_loopback and is_loopback(where.host):
        return where
    raise DestinationRefused(f"refusing plain http to {where.host}: {url!r}")


def check_url(url: str, *, allowed_hosts: frozenset[str], allow_insecure_loopback: bool) -> Origin:
    """`check_scheme`, and the host must be one the caller allows."""
    where = check_scheme(url, allow_insecure_loopback=allow_insecure_loopback)
    allowed = {h.rstrip(".").lower().strip("[]") for h in allowed_hosts}
    if where.host not in allowed:
        raise DestinationRefused(f"host {where.host!r} is not an allowed destination")
    return where


def resolve_location(base_url: str, location: str) -> str:
    """Resolve a Location header against `base_url`; it must stay on the same origin."""
    resolved = urljoin(base_url, location.strip())
    if origin(resolved) != origin(base_url):
        raise DestinationRefused(
            f"server pointed the upload elsewhere: {location!r} (from {base_url})")
    return resolved
