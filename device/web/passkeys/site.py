"""Where passkeys fit: the relying party and origin from `[web] public_url`, and whether the
page being served is at that address.

Browsers refuse WebAuthn at an IP address and on a page with a certificate error, and a
passkey is bound to the host name it was made at: so passkeys are offered only on pages
opened at `public_url`, and elsewhere the page says where they work instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.web import split_public_url

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Site:
    rp_id: str   # the host name passkeys are bound to
    origin: str  # scheme://host[:port], checked exactly in every answer
    netloc: str  # what the browser sends as Host there


def site_of(public_url: str) -> Site | None:
    """The passkeys' site from a (validated) `public_url`; None when it is empty."""
    if not public_url:
        return None
    scheme, host, port = split_public_url(public_url)
    shown = f"{host}:{port}" if port is not None and port != DEFAULT_PORTS[scheme] else host
    return Site(host, f"{scheme}://{shown}", shown)


def refusal(site: Site | None, host_header: str) -> str | None:
    """Why passkeys cannot work on this page, in one line, or None if they can."""
    if site is None:
        return ("Passkeys need the name you reach this device by: set [web] public_url in "
                "the config (a host name with a certificate your browsers trust).")
    if host_header.lower() != site.netloc:
        return (f"Passkeys work only at {site.origin}/ (a host name with a trusted "
                "certificate), not at this address.")
    return None
