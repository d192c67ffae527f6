"""The [web] config section: the owner's web app (`doorcam web`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from config.fields import setting


def listen_address(value: Any) -> str | None:
    """HOST:PORT with a numeric IPv4/IPv6 address ([::1]:8443) or a host name."""
    allowed = "HOST:PORT, e.g. 0.0.0.0:8443, 127.0.0.1:8080 or [::]:8443 (port 0 = any free)"
    try:
        split_listen(value)
    except ValueError:
        return allowed
    return None


def split_listen(value: str) -> tuple[str, int]:
    """('0.0.0.0', 8443) from '0.0.0.0:8443'; ValueError if malformed."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(value)
    if host.startswith("[") and host.endswith("]"):
        host = str(ipaddress.IPv6Address(host[1:-1]))
    elif ":" in host or not all(c.isalnum() or c in ".-" for c in host):
        raise ValueError(value)
    return host, int(port_text)


def origins(value: Any) -> str | None:
    allowed = 'a list of origins such as "https://door.example.org" (scheme://host[:port])'
    if not isinstance(value, list):
        return allowed
    for v in value:
        if not isinstance(v, str):
            return allowed
        scheme, sep, rest = v.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
            return allowed
    return None


def proxies(value: Any) -> str | None:
    allowed = ('a list of IP addresses or networks of reverse proxies, such as "127.0.0.1" '
               'or "10.0.0.0/24"')
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return allowed
    try:
        for v in value:
            ipaddress.ip_network(v, strict=False)
    except ValueError:
        return allowed
    return None


def public_url(value: Any) -> str | None:
    """Empty, or https://HOST[:PORT] with a host name (http only for localhost)."""
    allowed = ('empty, or the address browsers open this app at, such as '
               '"https://door.example.org" or "https://door.local:8443": a host name, not an '
               'IP address (passkeys refuse those), http only for localhost, no path')
    if not isinstance(value, str):
        return allowed
    if not value:
        return None
    try:
        split_public_url(value)
    except ValueError:
        return allowed
    return None


def split_public_url(value: str) -> tuple[str, str, int | None]:
    """(scheme, host, port or None) of a `public_url`; ValueError if it is not one."""
    scheme, sep, rest = value.partition("://")
    host, _, port_text = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if (not sep or scheme not in ("http", "https") or not host or "/" in rest
            or host.startswith("[") or (port_text and not port_text.isdigit())):
        raise ValueError(value)
    port = int(port_text) if port_text else None
    if port is not None and not 0 < port <= 65535:
        raise ValueError(value)
    labels = host.split(".")
    if host != host.lower() or not all(
            label and len(label) <= 63 and label[0] != "-" and label[-1] != "-"
            and all(c.isalnum() or c == "-" for c in label) for label in labels):
        raise ValueError(value)
    if all(c.isdigit() or c == "." for c in host):  # an IPv4 address
        raise ValueError(value)
    if scheme == "http" and host != "localhost":
        raise ValueError(value)
    return scheme, host, port


@dataclass(frozen=True)
class WebConfig:
    """The owner's web app: address, TLS certificate, sessions and login lockout."""

    listen: str = setting(
        "0.0.0.0:8443", "Address and port `doorcam web` listens on. TLS unless `tls` is off, "
        "which is allowed only on a loopback address (behind a reverse proxy).",
        check=listen_address, restart=True)
    tls: bool = setting(True, "Serve HTTPS with the device's own certificate.", restart=True)
    cert_file: str = setting(
        "", "TLS certificate (PEM); empty = <store>/web/cert.pem, a self-signed ECDSA P-256 "
        "certificate made on first start.", restart=True)
    key_file: str = setting(
        "", "TLS private key (PEM, mode 0600); empty = <store>/web/key.pem.", restart=True)
    session_hours: float = setting(
        168.0, "A login stays valid this long (then log in again).", min=0.1, max=8760.0)
    lockout_failures: int = setting(
        5, "Failed logins before a pause: from one source address; for one account from "
        "browsers that have not signed in to it before; and from one browser that has (a "
        "signed device cookie, so the owner's own browsers are not locked out by a "
        "stranger's guesses). Passkeys sign in whatever the count.", min=1, max=100)
    lockout_minutes: float = setting(
        15.0, "How long such a pause lasts; failures older than this are forgotten.",
        min=0.5, max=10080.0)
    trusted_proxies: list[str] = setting(
        [], "Reverse proxies in front of this app (addresses or networks, e.g. "
        "[\"127.0.0.1\"]): only for connections from them is the client's address taken from "
        "X-Forwarded-For (its right-most address not in this list) and the scheme from "
        "X-Forwarded-Proto; empty = forwarded headers are ignored.", check=proxies,
        restart=True)
    header_timeout_s: float = setting(
        10.0, "A request's headers must arrive within this many seconds of the connection "
        "opening or of the previous answer; slower clients are cut off.", min=1.0,
        max=300.0, restart=True)
    body_timeout_s: float = setting(
        30.0, "A request's body must arrive within this many seconds of its headers.",
        min=1.0, max=3600.0, restart=True)
    idle_timeout_s: int = setting(
        5, "A connection with no request in progress is closed after this many seconds.",
        min=1, max=300, restart=True)
    handshake_timeout_s: float = setting(
        10.0, "A TLS handshake must finish within this many seconds.", min=1.0, max=120.0,
        restart=True)
    stall_timeout_s: float = setting(
        60.0, "An answer the client stops reading for this many seconds is cut off (a "
        "viewer that keeps receiving live video or a clip is never cut off).", min=1.0,
        max=3600.0, restart=True)
    max_connections: int = setting(
        256, "Open connections in all; more are refused at once.", min=4, max=65536,
        restart=True)
    max_client_connections: int = setting(
        32, "Open connections from one client address (a trusted proxy's are not counted "
        "so); more are refused at once.", min=1, max=65536, restart=True)
    trusted_origins: list[str] = setting(
        [], "Extra origins allowed to post forms (a reverse proxy's public address, e.g. "
        "\"https://door.example.org\"); the app's own address is always allowed.",
        check=origins)
    public_url: str = setting(
        "", "The address browsers open this app at, e.g. \"https://door.example.org\" "
        "(behind a proxy) or \"https://door.local:8443\": its host name is the passkeys' "
        "relying party and the address is checked exactly when one is used. Passkeys work "
        "only there, with a certificate the browser trusts (http only for localhost); "
        "empty = the device's own .local name (`doorcam ca name`) when its own CA issued the "
        "certificate, else no passkeys, passwords only.", check=public_url)
