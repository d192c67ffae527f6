"""The [push] config section: Web Push notifications to the owner's subscribed browsers."""

# `setting()` returns a dataclasses.field carrying validation metadata.

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from config.fields import setting

FOUR_WEEKS_S = 28 * 24 * 3600  # the longest TTL push services keep a message

# RFC 8292 §2.1: "sub" is a mailto: or https: URI the push service can reach the sender at.
_CONTACT = re.compile(r"(mailto:[^\s@/]+@[^\s@/]+\.[^\s@/]+|https://[^\s/@]+(/\S*)?)")


def _contact(value: Any) -> str | None:
    if value == "" or (isinstance(value, str) and len(value) <= 256
                       and _CONTACT.fullmatch(value)):
        return None
    return "empty, or a contact for push services: 'mailto:you@example.org' or an https:// URL"


# The push services browsers subscribe at: Chrome and Android (FCM), Firefox (Mozilla),
# Safari (Apple), Edge (Windows Push Notification Services, one host per region).
KNOWN_SERVICES = ("fcm.googleapis.com", "updates.push.services.mozilla.com",
                  "web.push.apple.com", "*.notify.windows.com")

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_SERVICE_HELP = ('a list of push services besides the known ones, each a host name '
                 '("push.example.org"), every host under a domain ("*.example.org"), or one '
                 'exact origin ("https://push.example.org:8443"; "http://127.0.0.1:PORT" only '
                 'for a push service on this machine\'s loopback address)')


@dataclass(frozen=True)
class ServiceEntry:
    """One allowed push service: a host name, a domain's hosts (`wildcard`), or an exact
    origin (`scheme` and `port` set; its host may be an IP address, allowed as written)."""

    host: str
    wildcard: bool = False
    scheme: str | None = None
    port: int | None = None


def is_host_name(host: str) -> bool:
    """A DNS name of at least two labels (lower case, ASCII), not an IP address."""
    labels = host.split(".")
    return (len(labels) >= 2 and len(host) <= 253 and all(_LABEL.fullmatch(x) for x in labels)
            and not labels[-1].isdigit())


def parse_service(entry: str) -> ServiceEntry:
    """One `other_services` entry; ValueError says what is wrong."""
    if not isinstance(entry, str) or not entry or not entry.isascii() or len(entry) > 300:
        raise ValueError("not a host name or origin")
    text = entry.strip().lower()
    if "://" not in text:
        wildcard = text.startswith("*.")
        host = text[2:] if wildcard else text
        if not is_host_name(host):
            raise ValueError(f"{entry!r} is not a host name")
        return ServiceEntry(host, wildcard)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"{entry!r} is not an origin") from None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query \
            or parts.fragment or "@" in parts.netloc or not host:
        raise ValueError(f"{entry!r} is not an origin (scheme://host[:port])")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not is_host_name(host):
            raise ValueError(f"{entry!r} does not name a host") from None
        address = None
    if parts.scheme == "http" and (address is None or not address.is_loopback):
        raise ValueError(f"{entry!r}: plain http only to a loopback address such as "
                         "127.0.0.1")
    return ServiceEntry(host, False, parts.scheme,
                        port or (443 if parts.scheme == "https" else 80))


def _services(value: Any) -> str | None:
    if not isinstance(value, list):
        return _SERVICE_HELP
    for v in value:
        try:
            parse_service(v)
        except ValueError as exc:
            return f"{exc}; {_SERVICE_HELP}"
    return None


@dataclass(frozen=True)
class PushConfig:
    """Web Push to the owner's browsers: when to notify and how the device introduces itself."""

    enabled: bool = setting(
        False, "Send Web Push notifications to the browsers the owner subscribed in the "
        "web app (doorbell rings, new agency requests, people and motion, as each "
        "account chooses on its Notifications page).")
    contact: str = setting(
        "", "How push services can reach whoever runs this device, sent in every push "
        "(the VAPID 'sub' claim): 'mailto:you@example.org' or an https:// URL. Required "
        "when enabled: some push services (Apple's) refuse pushes without it.",
        check=_contact)
    notify_on_motion: bool = setting(
        False, "Whether motion notifies an account that has not chosen on its "
        "Notifications page (at most one motion push a minute).")
    other_services: list[str] = setting(
        [], "Push services allowed besides the known ones (Google FCM, Mozilla, Apple, "
        "Windows): host names, \"*.domain\" or exact origins. A browser subscribed "
        "anywhere else is refused, and no push is sent to a loopback, private, link-local "
        "or other special address unless an origin here names that address.",
        check=_services)
    ttl_s: int = setting(
        43200, "Seconds a push service keeps a notification for a browser that is offline; "
        "0 = deliver now or never. Motion pushes keep at most 5 minutes.",
        min=0, max=FOUR_WEEKS_S)
