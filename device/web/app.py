"""The ASGI app: routes, templates, error pages and security headers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp

from device.store import ClipNotFound, InvalidClipId, StoreError
from device.web import outside, timefmt, words
from device.web.call import Settings, TextRoute, answers_text, render
from device.web.context import Unavailable, WebContext
from device.web.pages import (
    activity,
    clips,
    device,
    live,
    login,
    notifications,
    passkeys,
    push,
    requests,
    timeline,
)
from device.web.security import SecurityHeaders
from device.web.zones import Zone
from uplink.errors import DecisionRefused, UnknownRequest

HERE = Path(__file__).parent
log = logging.getLogger("doorcam.web")

def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined)
    env.filters.update(span=timefmt.span, size=timefmt.size, duration=timefmt.length,
                       outside=outside.isolated, plain=outside.plain, clips=words.clips)
    for name, fn in (("when", timefmt.when), ("clock", timefmt.clock), ("day", timefmt.day),
                     ("offset", timefmt.offset)):
        env.filters[name] = _in_zone(fn)
    env.filters["at"] = jinja2.pass_context(
        lambda c, ts, kind="clock": timefmt.time_tag(ts, kind, c.get("zone")))
    return Jinja2Templates(env=env)


def _in_zone(fn: Callable[[float, Zone | None], str]) -> Callable[..., str]:
    """A time filter that reads the page's zone (the `zone` every render passes)."""
    return jinja2.pass_context(lambda c, ts: fn(ts, c.get("zone")))


def _error_page(request: Request, status: int, message: str,
                headers: dict[str, str] | None = None) -> Response:
    settings: Settings = request.app.state.settings
    if answers_text(request):
        return PlainTextResponse(message, status_code=status, headers=headers)
    try:
        response = render(request, settings, "error.html", status, status=status,
                          title=words.error_title(status), message=message)
    except Exception:  # never let an error page hide the error
        log.exception("rendering the error page failed")
        return PlainTextResponse(message, status_code=status, headers=headers)
    if headers:
        response.headers.update(headers)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.detail and exc.detail != str(exc.status_code) else ""
    if not message or message in ("Not Found", "Method Not Allowed"):
        message = words.error_message(exc.status_code)
    return _error_page(request, exc.status_code, message, dict(exc.headers or {}))


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DecisionRefused)
    message = words.refusal(exc.reason)
    return _error_page(request, 409, f"{message} ({exc.detail})")


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error_page(request, 404, str(exc))


async def _bad_id(request: Request, exc: Exception) -> Response:
    return _error_page(request, 400, str(exc))


async def _unavailable(request: Request, exc: Exception) -> Response:
    return _error_page(request, 503, str(exc))


async def _store_error(request: Request, exc: Exception) -> Response:
    log.error("clip store: %s", exc)
    return _error_page(request, 500, f"The clip store could not do that: {exc}")


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error_page(request, 500, words.CRASH)


class _App(Starlette):
    """Starlette with the security headers outside everything, so that they are on the
    page of an unexpected error too (Starlette answers that in its outermost layer)."""

    https = False

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), tls=self.https)


def create_app(ctx: WebContext, *, tls: bool) -> Starlette:
    routes = [
        Route("/login", login.login_form, methods=["GET"]),
        Route("/login", login.login, methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/", timeline.timeline, methods=["GET"]),
        Route("/requests", requests.requests_page, methods=["GET"]),
        Route("/requests/{rid}/share", requests.confirm_share, methods=["GET"]),
        Route("/requests/{rid}/share", requests.share, methods=["POST"]),
        Route("/requests/{rid}/decline", requests.decline, methods=["POST"]),
        Route("/clips", clips.clips_page, methods=["GET"]),
        Route("/clips/{cid}", clips.clip_page, methods=["GET"]),
        TextRoute("/clips/{cid}/video", clips.video, methods=["GET"]),
        TextRoute("/clips/{cid}/thumb", clips.thumb, methods=["GET"]),
        TextRoute("/clips/{cid}/download", clips.download, methods=["GET"]),
        Route("/clips/{cid}/hold", clips.hold, methods=["POST"]),
        Route("/clips/{cid}/release", clips.release, methods=["POST"]),
        Route("/clips/{cid}/delete", clips.confirm_delete, methods=["GET"]),
        Route("/clips/{cid}/delete", clips.delete, methods=["POST"]),
        Route("/live", live.live, methods=["GET"]),
        Route("/live/{name}", live.live_file, methods=["GET"]),
        Route("/activity", activity.activity, methods=["GET"]),
        Route("/device", device.device_page, methods=["GET"]),
        Route("/device/ca.crt", device.ca_certificate, methods=["GET"]),
        Route("/device/ca.mobileconfig", device.ca_profile, methods=["GET"]),
        TextRoute("/passkeys/register/begin", passkeys.register_begin, methods=["POST"]),
        TextRoute("/passkeys/register/finish", passkeys.register_finish, methods=["POST"]),
        Route("/passkeys/remove", passkeys.remove, methods=["POST"]),
        TextRoute("/passkeys/login/begin", passkeys.login_begin, methods=["POST"]),
        TextRoute("/passkeys/login/finish", passkeys.login_finish, methods=["POST"]),
        TextRoute("/sw.js", push.service_worker, methods=["GET"]),
        TextRoute("/push/subscribe.js", push.subscribe_script, methods=["GET"]),
        TextRoute("/push/renew.js", push.renew_script, methods=["GET"]),
        TextRoute("/push/subscribe", push.subscribe, methods=["POST"]),
        TextRoute("/push/unsubscribe", push.unsubscribe, methods=["POST"]),
        TextRoute("/push/change", push.change, methods=["POST"]),
        TextRoute("/push/settings.js", push.settings_script, methods=["GET"]),
        Route("/notifications", notifications.notifications_page, methods=["GET"]),
        Route("/notifications", notifications.save_kinds, methods=["POST"]),
        Route("/notifications/snooze", notifications.snooze, methods=["POST"]),
        Route("/notifications/unsnooze", notifications.unsnooze, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = _App(routes=routes, exception_handlers={
        HTTPException: _http_error, DecisionRefused: _refused, UnknownRequest: _not_found,
        ClipNotFound: _not_found, InvalidClipId: _bad_id, Unavailable: _unavailable,
        StoreError: _store_error, Exception: _crash})
    app.state.ctx = ctx
    # Behind a proxy (tls off) browsers still reach the app over HTTPS at public_url: its
    # cookies are Secure there too, and browsers are told to keep to HTTPS.
    https = tls or urlsplit(ctx.cfg.web.public_url).scheme == "https"
    app.state.settings = Settings(https=https, templates=_templates(),
                                  trusted_origins=tuple(ctx.cfg.web.trusted_origins))
    app.https = https
    return app
