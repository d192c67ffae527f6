"""Who a request comes from: forwarded headers only through trusted proxies, and what one
source is for counting failed logins and connections."""

from __future__ import annotations

import pytest

from device.web.sources import Proxies, source_key

PROXIES = Proxies(["127.0.0.1", "10.0.0.0/24", "fd00::1"])


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("192.0.2.9", ["198.51.100.7"], "192.0.2.9"),  # not a proxy: the header is ignored
    ("127.0.0.1", [], "127.0.0.1"),  # a proxy that forwarded nothing: itself
    ("127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
    ("127.0.0.1", ["198.51.100.8, 198.51.100.7"], "198.51.100.7"),  # right-most untrusted
    ("127.0.0.1", ["198.51.100.7, 10.0.0.5"], "198.51.100.7"),  # through a second proxy
    ("127.0.0.1", ["198.51.100.8", "198.51.100.7"], "198.51.100.7"),  # two header lines
    ("127.0.0.1", ["not-an-address"], "127.0.0.1"),  # garbage: the proxy itself
    ("127.0.0.1", ["198.51.100.7, garbage, 10.0.0.5"], "10.0.0.5"),
    ("127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
    ("::ffff:127.0.0.1", ["198.51.100.7"], "198.51.100.7"),  # a v4-mapped proxy address
    ("fd00::1", ["10.0.0.7"], "10.0.0.7"),  # every hop a proxy: the left-most
])
def test_the_client_is_the_right_most_untrusted_hop(peer: str, forwarded: list[str],
                                                    client: str) -> None:
    assert PROXIES.client(peer, forwarded) == client


def test_the_scheme_comes_from_a_trusted_proxy_only() -> None:
    assert PROXIES.scheme("127.0.0.1", "http", "https") == "https"
    assert PROXIES.scheme("192.0.2.9", "http", "https") == "http"
    assert PROXIES.scheme("127.0.0.1", "http", "gopher") == "http"
    assert Proxies([]).client("127.0.0.1", ["198.51.100.7"]) == "127.0.0.1"


def test_an_ipv6_64_is_one_source() -> None:
    assert source_key("2001:db8:1:2:aaaa::1") == source_key("2001:db8:1:2:bbbb::9") == \
        "2001:db8:1:2::/64"
    assert source_key("2001:db8:1:3::1") != source_key("2001:db8:1:2::1")
    assert source_key("::ffff:192.0.2.1") == "192.0.2.1" == source_key("192.0.2.1")
    assert source_key("unknown") == "unknown"
