"""Where the device may send a push: the push services browsers subscribe at, nothing else.

A subscription's endpoint is a URL any logged-in account hands the device, and the device
then POSTs to it. So it is checked twice:

- when it is stored (`EndpointPolicy.refusal`): an https:// URL on a public host name of a
  known push service (`config.push.KNOWN_SERVICES`) or of one the owner added in
  `[push] other_services`; an IP address, a name like `localhost` or `printer.local`, plain
  http or a user name in the URL are refused with a sentence saying which;
- before every connection (`EndpointPolicy.address_refusal`, from the transport, on the
  addresses the name resolved to *this* time, because DNS can change): loopback, private,
  link-local, shared (CGNAT), multicast, reserved, documentation and other special addresses
  are refused, IPv4 inside IPv6 (mapped, NAT64, 6to4) judged by the IPv4 address it carries,
  Teredo refused. The connection then goes to the address that was checked, never to a
  second lookup's answer.

The one way to a special address is an origin in `other_services` that names it as an IP
address ("http://127.0.0.1:8090": the tests' and the bench's loopback push service): that
address, at that port, and nothing else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from config.push import KNOWN_SERVICES, ServiceEntry, is_host_name, parse_service
from uplink.protocol.urls import Destination, parse_destination

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
HTTPS_PORT = 443

# Names that never leave the local network, whatever a resolver says about them (RFC 6761,
# RFC 6762, RFC 8375, and the suffixes home routers hand out).
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".home",
                  ".localdomain", ".intranet", ".corp", ".private", ".test", ".invalid",
                  ".example", ".onion", ".arpa")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HTTPS_ONLY = "The endpoint must be an https:// URL: push services are reached over https."
_SERVICES_WORDS = "Google (Chrome, Android), Mozilla (Firefox), Apple (Safari) or Windows (Edge)"


def special(address: IPAddress) -> str | None:
    """Why `address` is no place for a push (a phrase), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            why = special(inner)
            return f"{why} inside an IPv6 address" if why else None
        if address.teredo is not None:
            return "a Teredo tunnel address"
        if address.is_site_local:
            return "a site-local address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if any(address in net for net in _ALSO_SPECIAL):
        return "a special-purpose address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "a special-purpose address"
    return None


_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
# IANA special-purpose blocks the standard library counts as global (RFC 6890, RFC 7526).
_ALSO_SPECIAL = (ipaddress.IPv4Network("192.0.0.0/24"), ipaddress.IPv4Network("192.88.99.0/24"))


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class EndpointPolicy:
    """The push services this device may send to: the known ones and `other_services`."""

    services: tuple[ServiceEntry, ...]

    @classmethod
    def of(cls, other_services: Iterable[str] = ()) -> EndpointPolicy:
        """The known services plus the owner's (entries already checked by the config)."""
        return cls(tuple(parse_service(e) for e in (*KNOWN_SERVICES, *other_services)))

    def _origin(self, where: Destination) -> ServiceEntry | None:
        for entry in self.services:
            if entry.scheme is not None and (entry.scheme, entry.host, entry.port) == (
                    where.scheme, where.host.strip("[]"), where.port):
                return entry
        return None

    def _named(self, host: str) -> bool:
        for entry in self.services:
            if entry.scheme is not None:
                continue
            if host.endswith("." + entry.host) if entry.wildcard else host == entry.host:
                return True
        return False

    def refusal(self, url: str) -> str | None:
        """Why a subscription with this endpoint cannot be stored (a sentence for the owner),
        or None when it may be."""
        try:
            where = parse_destination(url)
        except ValueError as exc:
            if "user information" in str(exc):
                return "The endpoint must not carry a user name or password."
            if "scheme" in str(exc):
                return _HTTPS_ONLY
            return ("The endpoint is not a push service's https:// URL "
                    f"({str(exc).removeprefix('URL ')}).")
        if self._origin(where) is not None:
            return None
        host = where.host.strip("[]")
        if _ip(host) is not None:
            return (f"The endpoint must name a push service, not an IP address ({host}): "
                    "notifications go only to the browsers' push services.")
        if where.scheme != "https":
            return _HTTPS_ONLY
        if host == "localhost" or host.endswith(LOCAL_SUFFIXES) or not is_host_name(host):
            return (f"The endpoint's host {host} is not a public host name: notifications go "
                    "only to the browsers' push services on the internet.")
        if not self._named(host):
            return (f"The endpoint's host {host} is not a push service this device knows "
                    f"({_SERVICES_WORDS}). The device's owner can allow it with [push] "
                    "other_services in the config.")
        if where.port != HTTPS_PORT:
            return (f"The endpoint names port {where.port}: push services are reached on "
                    f"https's port {HTTPS_PORT} (another port needs an exact origin in [push] "
                    "other_services).")
        return None

    def address_refusal(self, where: Destination, address: IPAddress) -> str | None:
        """Why the device must not connect to `address` for `where` (None: it may)."""
        entry = self._origin(where)
        literal = _ip(where.host)
        if entry is not None and literal is not None:
            # The owner named this very address in the config.
            return None if address == literal else f"{address} is not the configured {literal}"
        why = special(address)
        return None if why is None else f"{where.host} resolved to {address}, {why}"
