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
        5, "Failed logins in a row, per account and per client address, before a lockout.",
        min=1, max=100)
    lockout_minutes: float = setting(
        15.0, "How long a lockout lasts; the count starts again after it.", min=0.5,
        max=10080.0)
    trusted_origins: list[str] = setting(
        [], "Extra origins allowed to post forms (a reverse proxy's public address, e.g. "
        "\"https://door.example.org\"); the app's own address is always allowed.",
        check=origins)
