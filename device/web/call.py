"""`page` and `action`: the wrappers every view goes through (login, CSRF, origin, errors).

Views are plain functions of a `Call`, run in a worker thread; they open what they need
through `call.ctx` and return a response.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from device.web import words
from device.web.accounts import Session
from device.web.context import WebContext
from device.web.security import cross_origin_refusal, same_token
from device.web.sources import Proxies, proxies
from device.web.zones import Zone, zone_of

MAX_FORM = 64 * 1024
CSRF_HEADER = "X-CSRF-Token"  # where page scripts send the session's CSRF token
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}", re.ASCII)
View = Callable[["Call"], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Settings:
    """What every view may need besides the context: whether browsers reach the app over
    HTTPS (its own TLS, or a proxy's at an https `public_url`), cookie names, templates."""

    https: bool
    templates: Any  # starlette.templating.Jinja2Templates
    trusted_origins: tuple[str, ...]

    @property
    def session_cookie(self) -> str:
        return "__Host-doorcam" if self.https else "doorcam"

    @property
    def login_cookie(self) -> str:
        return "__Host-doorcam-login" if self.https else "doorcam-login"

    def device_cookie(self, account: str) -> str:
        """The cookie saying this browser has signed in to `account` before."""
        return f"{'__Host-' if self.https else ''}doorcam-device-{account}"


@dataclass
class Call:
    request: Request
    ctx: WebContext
    settings: Settings
    session: Session
    now: float
    form: dict[str, list[str]] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.session.name

    @property
    def zone(self) -> Zone:
        """The zone this page shows times in (the browser's once its script said so)."""
        return zone_of(self.request.cookies)

    def field(self, name: str) -> str:
        values = self.form.get(name) or [""]
        return values[0]

    def fields(self, name: str) -> list[str]:
        return list(self.form.get(name, []))

    def render(self, template: str, status_code: int = 200, **values: Any) -> Response:
        values.setdefault("account", self.session.name)
        values.setdefault("csrf", self.session.csrf)
        values.setdefault("notice", words.done(self.request.query_params.get("done", "")))
        return render(self.request, self.settings, template, status_code, **values)

    def log(self, kind: str, request_id: str | None = None, **detail: Any) -> None:
        """One entry in the household access log, in this account's name."""
        with self.ctx.access() as log:
            log.append(kind, request_id, {"account": self.session.name, **detail},
                       at=self.now)


def render(request: Request, settings: Settings, template: str, status_code: int = 200,
           **values: Any) -> Response:
    values.setdefault("account", None)
    values.setdefault("csrf", "")
    values.setdefault("notice", "")
    values.setdefault("path", request.url.path)
    values.setdefault("zone", zone_of(request.cookies))
    response: Response = settings.templates.TemplateResponse(request, template, values,
                                                             status_code=status_code)
    return response


class TextRoute(Route):
    """A route whose answers are for scripts and media elements, not pages: its errors are
    plain text. Other routes' errors are pages unless the client does not take HTML."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match != Match.NONE:
            child = {**child, _TEXT_KEY: True}
        return match, child


_TEXT_KEY = "doorcam.text_answers"


def answers_text(request: Request) -> bool:
    """Whether an error on this request is answered in plain text rather than as a page:
    on a `TextRoute`, or for a client whose `Accept` takes neither HTML nor any type."""
    if request.scope.get(_TEXT_KEY):
        return True
    accept = request.headers.get("accept", "")
    return bool(accept) and not any(kind in accept for kind in ("text/html", "*/*"))


def request_id_param(request: Request) -> str:
    rid = str(request.path_params.get("rid", ""))
    if not REQUEST_ID_RE.fullmatch(rid):
        raise HTTPException(400, "That is not a request id (1-64 letters, digits, . _ : -).")
    return rid


def _peer(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _proxies(request: Request) -> Proxies:
    ctx: WebContext = request.app.state.ctx
    return proxies(tuple(ctx.cfg.web.trusted_proxies))


def client_addr(request: Request) -> str:
    """The client's address (through a trusted proxy only); logins are counted by it."""
    return _proxies(request).client(_peer(request), request.headers.getlist("x-forwarded-for"))


def _state(request: Request) -> tuple[WebContext, Settings]:
    return request.app.state.ctx, request.app.state.settings


async def session_of(request: Request, ctx: WebContext, settings: Settings,
                   now: float) -> Session | None:
    token = request.cookies.get(settings.session_cookie)
    if not token:
        return None

    def lookup() -> Session | None:
        with ctx.accounts() as acc:
            return acc.session(token, now)

    return await run_in_threadpool(lookup)


def to_login(request: Request) -> Response:
    target = request.url.path
    if request.method != "GET" or not target.startswith("/") or target.startswith("//"):
        target = "/"
    return RedirectResponse("/login" + ("" if target == "/" else f"?next={quote(target)}"),
                            status_code=303)


def page(view: View) -> Endpoint:
    """A GET view for a logged-in account; anyone else is sent to /login."""
    @functools.wraps(view)
    async def endpoint(request: Request) -> Response:
        ctx, settings = _state(request)
        now = time.time()
        session = await session_of(request, ctx, settings, now)
        if session is None:
            return to_login(request)
        return await run_in_threadpool(view, Call(request, ctx, settings, session, now))
    return endpoint


async def _body(request: Request, kind: str, limit: int, wrong_kind: str,
                too_large: str) -> bytes:
    """The body of a post of content type `kind`, read up to `limit` bytes; 415 with
    `wrong_kind` for another type, 413 with `too_large` past the limit."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != kind:
        raise HTTPException(415, wrong_kind)
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise HTTPException(413, too_large)
    except ClientDisconnect:  # gone, or cut off by the server's body deadline
        raise HTTPException(408, "The request's body did not arrive.") from None
    return body


async def read_form(request: Request) -> dict[str, list[str]]:
    """An application/x-www-form-urlencoded body (the only kind our forms send)."""
    body = await _body(request, "application/x-www-form-urlencoded", MAX_FORM,
                       "Send this form from the doorcam page "
                       "(application/x-www-form-urlencoded).", "The form is too large.")
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "The form could not be read (not UTF-8 form data).") from None


async def read_json(request: Request, limit: int, what: str = "the body") -> object:
    """A script's JSON post, parsed; 415 unless application/json, 413 over `limit` bytes,
    400 if not JSON. `what` names the body in the answers ("the subscription")."""
    body = await _body(request, "application/json", limit,
                       f"Send {what} as application/json (the page's script does).",
                       f"{what[0].upper()}{what[1:]} is over {limit} bytes.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise HTTPException(400, "The body is not JSON.") from None


async def script_session(request: Request, *, csrf: bool = True
                         ) -> tuple[WebContext, Settings, Session]:
    """(context, settings, session) of a page script's post: same-origin and logged in
    (401 otherwise, the script shows the answer), with the session's CSRF token in its
    `CSRF_HEADER` unless `csrf` is False (the caller then proves the post otherwise)."""
    ctx, settings = _state(request)
    check_origin(request, settings)
    session = await session_of(request, ctx, settings, time.time())
    if session is None:
        raise HTTPException(401, "You are not logged in: log in again and retry.")
    if csrf and not same_token(request.headers.get(CSRF_HEADER), session.csrf):
        raise HTTPException(403, "The page is out of date (its security token does not "
                                 "match your login). Reload it and try again.")
    return ctx, settings, session


def check_origin(request: Request, settings: Settings) -> None:
    ctx: WebContext = request.app.state.ctx
    public = (ctx.cfg.web.public_url,) if ctx.cfg.web.public_url else ()
    scheme = _proxies(request).scheme(_peer(request), request.url.scheme,
                                      request.headers.get("x-forwarded-proto"))
    refusal = cross_origin_refusal(request, settings.trusted_origins + public, scheme=scheme)
    if refusal:
        raise HTTPException(403, refusal)


def action(view: View) -> Endpoint:
    """A POST view: same-origin, logged in, with this session's CSRF token."""
    @functools.wraps(view)
    async def endpoint(request: Request) -> Response:
        ctx, settings = _state(request)
        check_origin(request, settings)
        now = time.time()
        form = await read_form(request)
        session = await session_of(request, ctx, settings, now)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        if not same_token((form.get("csrf") or [""])[0], session.csrf):
            raise HTTPException(403, "This form is out of date (its security token does not "
                                     "match your login). Reload the page and try again.")
        return await run_in_threadpool(view, Call(request, ctx, settings, session, now, form))
    return endpoint
