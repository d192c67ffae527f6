"""Security headers on every response, and the cross-origin check on every form post."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "media-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Pure ASGI middleware (does not buffer streamed video)."""

    def __init__(self, app: ASGIApp, *, tls: bool) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if self.tls:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


Origin = tuple[str, str, int]  # scheme, host (lower case), port
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(scheme: str, netloc: str) -> Origin | None:
    """(scheme, host, port) of an origin, the default port filled in; None if malformed."""
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return None
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def parse_origin(value: str) -> Origin | None:
    """The origin of an `Origin` or `Referer` header's URL; None if it has none."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        return None
    return origin_of(scheme, rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0])


def cross_origin_refusal(request: Request, trusted: tuple[str, ...], *,
                         scheme: str | None = None) -> str | None:
    """Why this post must be refused as cross-site, or None if it comes from our own pages.

    Browsers send `Sec-Fetch-Site`; with `Referrer-Policy: no-referrer` a same-origin form
    post carries `Origin: null`, so that header decides first. Then Origin, then Referer,
    compared by scheme, host and port with this app's own origin (`scheme`, default the
    request's, and its Host header) and the `trusted` ones.
    """
    headers: Headers = request.headers
    own = origin_of(scheme or request.url.scheme, headers.get("host", ""))
    allowed = {o for o in (own, *(parse_origin(t) for t in trusted)) if o is not None}
    site = headers.get("sec-fetch-site")
    if site is not None:
        if site == "same-origin":
            return None
        origin = parse_origin(headers.get("origin", ""))
        if origin is not None and origin in allowed:
            return None
        return (f"This form was posted from another site ({site}); doorcam refuses it. "
                "Open the doorcam page itself and try again.")
    for name in ("origin", "referer"):
        value = headers.get(name)
        if value and value != "null":
            origin = parse_origin(value)
            if origin is not None and origin in allowed:
                return None
            shown = value if origin is None else f"{origin[0]}://{origin[1]}:{origin[2]}"
            return (f"This form was posted from {shown[:100]}, not from this doorcam; "
                    "refused. Open the doorcam page itself and try again.")
    return ("This form post does not say where it comes from (no Origin or Referer); "
            "refused to protect your account. Use a current browser.")


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())
