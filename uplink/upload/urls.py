"""Which URLs the uploader may talk to, decided before any connection is made (the parser
is the protocol's, `uplink.protocol.urls`; these checks raise `DestinationRefused`)."""

from __future__ import annotations

from urllib.parse import urljoin

from uplink.errors import DestinationRefused
from uplink.protocol.urls import Destination, is_loopback, normalise_host, parse_destination


def destination(url: str) -> Destination:
    """`parse_destination`, refusing with the URL named."""
    try:
        return parse_destination(url)
    except ValueError as exc:
        raise DestinationRefused(f"refusing {url!r}: {exc}") from None


def check_scheme(url: str, *, allow_insecure_loopback: bool) -> Destination:
    """https always; plain http only to a loopback host and only with the dev flag."""
    where = destination(url)
    if where.scheme == "https":
        return where
    if allow_insecure_loopback and is_loopback(where.host):
        return where
    raise DestinationRefused(f"refusing plain http to {where.host}: {url!r}")


def check_url(url: str, *, allowed_hosts: frozenset[str],
              allow_insecure_loopback: bool) -> Destination:
    """`check_scheme`, and the host must be one the caller allows."""
    where = check_scheme(url, allow_insecure_loopback=allow_insecure_loopback)
    allowed = set()
    for h in allowed_hosts:
        try:
            allowed.add(normalise_host(h))
        except ValueError:
            continue  # a malformed entry allows nothing
    if where.host not in allowed:
        raise DestinationRefused(f"host {where.host!r} is not an allowed destination")
    return where


def resolve_location(base_url: str, location: str) -> str:
    """Resolve a Location header against `base_url`; it must stay on the same origin."""
    resolved = urljoin(base_url, location.strip())
    if destination(resolved) != destination(base_url):
        raise DestinationRefused(
            f"server pointed the upload elsewhere: {location!r} (from {base_url})")
    return resolved
