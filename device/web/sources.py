"""Who is asking: a request's client address, through trusted reverse proxies only.

Without `[web] trusted_proxies` the address is the connection's peer and forwarded headers
are ignored (anyone can send them). With it, a connection from a listed proxy is attributed
to the right-most X-Forwarded-For hop that is not itself a listed proxy: every proxy appends
the address it received the request from, so hops to its left are the client's own claims.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port as some proxies write it
        text = text[1:text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class Proxies:
    """The reverse proxies whose forwarded headers are believed."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in networks)

    def trusts(self, peer: str) -> bool:
        addr = _address(peer)
        if addr is None:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in n for n in self.networks)

    def client(self, peer: str, forwarded_for: list[str]) -> str:
        """The client's address: `peer`, or from a trusted proxy the right-most untrusted
        X-Forwarded-For hop (the proxy's own address if a hop is not an address at all)."""
        if not self.trusts(peer):
            return peer
        hops = [h for value in forwarded_for for h in value.split(",")]
        for hop in reversed(hops):
            addr = _address(hop)
            if addr is None:
                return peer
            if not self.trusts(str(addr)):
                return str(addr)
            peer = str(addr)
        return peer

    def scheme(self, peer: str, own: str, forwarded_proto: str | None) -> str:
        """The scheme the browser used: X-Forwarded-Proto from a trusted proxy, else ours."""
        if forwarded_proto and self.trusts(peer):
            last = forwarded_proto.split(",")[-1].strip().lower()
            if last in ("http", "https"):
                return last
        return own


@functools.lru_cache(maxsize=8)
def proxies(networks: tuple[str, ...]) -> Proxies:
    return Proxies(networks)


def source_key(addr: str) -> str:
    """What one source is counted as: an IPv4 address, or an IPv6 address's /64 (one home
    or phone gets a whole /64 and may pick any address in it)."""
    parsed = _address(addr)
    if parsed is None:
        return addr[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)
