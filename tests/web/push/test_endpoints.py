"""Where pushes may go: the refusals at subscribe time, and at send time on the addresses a
name resolves to, proven to happen before any connection (the resolver and connect seams
fail the test when reached where they must not be)."""

from __future__ import annotations

import ipaddress
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError, load_config
from config.push import KNOWN_SERVICES, parse_service
from device.web.push.endpoints import EndpointPolicy, special
from device.web.push.errors import DestinationRefused, EndpointNotAllowed, Unreachable
from device.web.push.sender import PushSender, Target
from device.web.push.transport import AddressRefused, StdlibTransport
from device.web.push.vapid import VapidKey
from tests.web.push.browser import Browser
from uplink.errors import DestinationRefused as TransportRefused
from uplink.errors import TransientUploadError

FCM = "https://fcm.googleapis.com/fcm/send/abc:def"


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.1.2.3", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "100.127.255.254", "0.0.0.0", "224.0.0.251", "239.255.255.250",
    "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1", "192.0.0.8",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:c0a8:101::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2"])
def test_special_addresses_are_named(address: str) -> None:
    assert special(ipaddress.ip_address(address)) is not None, address


@pytest.mark.parametrize("address", ["142.250.74.42", "2a00:1450:4001:82b::200a",
                                     "::ffff:142.250.74.42", "64:ff9b::8efa:4a2a"])
def test_public_addresses_pass(address: str) -> None:
    assert special(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("endpoint", "says"), [
    ("http://127.0.0.1:8080/push/x", "not an IP address (127.0.0.1)"),
    ("https://192.168.1.1/push", "not an IP address (192.168.1.1)"),
    ("https://[::1]/push", "not an IP address (::1)"),
    ("https://[::ffff:7f00:1]/push", "not an IP address"),
    ("https://2130706433/push", "not a public host name"),
    ("https://localhost/push", "not a public host name"),
    ("https://printer.local/push", "not a public host name"),
    ("https://router.home.arpa/push", "not a public host name"),
    ("https://intranet/push", "not a public host name"),
    ("http://fcm.googleapis.com/fcm/send/x", "must be an https:// URL"),
    ("https://u:p@fcm.googleapis.com/x", "user name or password"),
    ("https://push.example.org/x", "not a push service this device knows"),
    ("https://fcm.googleapis.com.evil.org/x", "not a push service this device knows"),
    ("https://notify.windows.com/x", "not a push service this device knows"),
    ("https://fcm.googleapis.com:8443/fcm/send/x", "port 8443"),
])
def test_subscribe_time_refusals_say_why(endpoint: str, says: str) -> None:
    why = EndpointPolicy.of().refusal(endpoint)
    assert why is not None and says in why, why


@pytest.mark.parametrize("endpoint", [
    FCM, "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
    "https://web.push.apple.com/QGuQyavXutnMH", "https://wns2-par02p.notify.windows.com/w/?t=A",
    "https://FCM.googleapis.com/fcm/send/x"])
def test_the_known_push_services_are_allowed(endpoint: str) -> None:
    assert EndpointPolicy.of().refusal(endpoint) is None


def test_other_services_from_the_config() -> None:
    policy = EndpointPolicy.of(["push.example.org", "*.up.example.net",
                                "http://127.0.0.1:8090", "https://ntfy.example.com:8443"])
    for ok in ("https://push.example.org/x", "https://a.up.example.net/x",
               "http://127.0.0.1:8090/push/t", "https://ntfy.example.com:8443/up/x"):
        assert policy.refusal(ok) is None, ok
    for refused in ("https://up.example.net/x", "http://127.0.0.1:8091/push/t",
                    "https://127.0.0.1:8090/push/t", "https://ntfy.example.com/up/x",
                    "http://push.example.org/x"):
        assert policy.refusal(refused) is not None, refused


@pytest.mark.parametrize(("entry", "says"), [
    ("http://192.168.1.5:8080", "plain http only to a loopback address"),
    ("http://push.example.org", "plain http only to a loopback address"),
    ("https://push.example.org/path", "not an origin"),
    ("localhost", "not a host name"), ("*.", "not a host name"), ("ftp://x.org", "origin"),
])
def test_bad_other_services_entries_are_refused(entry: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_service(entry)


def test_a_bad_entry_in_the_config_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "doorcam.toml"
    path.write_text('[push]\nother_services = ["http://10.0.0.5:8080"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    text = str(err.value)
    assert "other_services" in text and "plain http only to a loopback" in text, text


def test_known_services_parse() -> None:
    assert [parse_service(s).host for s in KNOWN_SERVICES][-1] == "notify.windows.com"


# -- at send time: the transport's seams ------------------------------------------------------
def _info(address: str, port: int = 443) -> tuple[Any, ...]:
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    sockaddr = (address, port, 0, 0) if ip.version == 6 else (address, port)
    return (family, socket.SOCK_STREAM, 6, "", sockaddr)


def _never(*args: Any) -> Any:
    raise AssertionError(f"reached a seam that must not be: {args!r}")


class Resolver:
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.asked: list[str] = []

    def __call__(self, host: str, port: int, deadline: float) -> list[tuple[Any, ...]]:
        self.asked.append(host)
        return [_info(a, port) for a in self.addresses]


@pytest.mark.parametrize("answer", [
    ("127.0.0.1",), ("10.0.0.7",), ("192.168.1.1",), ("169.254.169.254",), ("100.64.1.1",),
    ("::1",), ("fe80::1",), ("::ffff:192.168.1.1",), ("224.0.0.1",), ("0.0.0.0",),
    ("142.250.74.42", "10.0.0.7"),  # one bad answer among good ones refuses the lot
])
def test_a_known_service_resolving_to_a_special_address_is_refused_before_connecting(
        answer: tuple[str, ...]) -> None:
    resolver = Resolver(*answer)
    transport = StdlibTransport(EndpointPolicy.of(), resolver=resolver, connector=_never)
    with pytest.raises(AddressRefused, match="resolved to"):
        transport.request("POST", FCM, {}, b"{}", time.monotonic() + 5)
    assert resolver.asked == ["fcm.googleapis.com"], "looked up, at send time"


def test_the_checked_address_is_the_one_connected_to() -> None:
    connected: list[Any] = []

    def connector(sock: socket.socket, address: Any) -> None:
        connected.append(address)
        raise ConnectionRefusedError("no network in tests")

    transport = StdlibTransport(EndpointPolicy.of(), resolver=Resolver("142.250.74.42"),
                                connector=connector)
    with pytest.raises(TransientUploadError):
        transport.request("POST", FCM, {}, b"{}", time.monotonic() + 5)
    assert connected == [("142.250.74.42", 443)]


def test_an_unknown_service_is_refused_before_the_lookup() -> None:
    transport = StdlibTransport(EndpointPolicy.of(), resolver=_never, connector=_never)
    for url in ("https://push.example.org/x", "http://127.0.0.1:9/x", "https://10.0.0.1/x"):
        with pytest.raises(TransportRefused):
            transport.request("POST", url, {}, b"{}", time.monotonic() + 5)


def test_a_configured_name_is_still_held_to_public_addresses() -> None:
    policy = EndpointPolicy.of(["push.example.org", "http://127.0.0.1:8090"])
    transport = StdlibTransport(policy, resolver=Resolver("127.0.0.1"), connector=_never)
    with pytest.raises(AddressRefused, match="loopback"):
        transport.request("POST", "https://push.example.org/x", {}, b"{}",
                          time.monotonic() + 5)


def test_the_sender_drops_what_the_policy_refuses_and_reports_special_addresses(
        tmp_path: Path) -> None:
    b = Browser.new()
    vapid = VapidKey.load_or_create(tmp_path / "k.pem")
    policy = EndpointPolicy.of()
    sender = PushSender(vapid, "mailto:o@example.org", policy,
                        StdlibTransport(policy, resolver=Resolver("192.168.1.1"),
                                        connector=_never))
    with pytest.raises(EndpointNotAllowed):
        sender.send(Target("https://192.168.1.1/x", b.p256dh, b.auth), b"{}", ttl=60)
    with pytest.raises(DestinationRefused) as err:
        sender.send(Target(FCM, b.p256dh, b.auth), b"{}", ttl=60)
    assert not isinstance(err.value, (EndpointNotAllowed, Unreachable))
    assert "192.168.1.1" in str(err.value) and "abc:def" not in str(err.value)


def test_a_rotated_subscription_is_held_to_the_same_rule(tmp_path: Path) -> None:
    from config.push import PushConfig
    from device.web.push import InvalidSubscription, PushService

    svc = PushService(tmp_path, PushConfig(enabled=True, contact="mailto:o@example.org"),
                      book_path=tmp_path / "uplink.sqlite3")
    browser = Browser.new()
    done = svc.subscribe("alex", browser.subscription(FCM))
    with pytest.raises(InvalidSubscription, match="not an IP address"):
        svc.change("alex", FCM, done.change_token,
                   browser.subscription("https://169.254.169.254/latest/meta-data"))
    assert [s.endpoint for s in svc.subscriptions("alex")] == [FCM]
