"""/login and /logout."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from device.web.access import AccessKind
from device.web.accounts import LockedOut
from device.web.call import (
    Call,
    Settings,
    action,
    check_origin,
    client_addr,
    read_form,
    render,
)
from device.web.context import WebContext
from device.web.passkeys.site import refusal, site_of
from device.web.security import same_token

log = logging.getLogger("doorcam.web")


def safe_next(value: str) -> str:
    ok = value.startswith("/") and not value.startswith("//") and "\\" not in value
    return value if ok and len(value) < 200 else "/"


def _form_page(request: Request, settings: Settings, *, status: int = 200,
               error: str = "", name: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    ctx: WebContext = request.app.state.ctx
    site = site_of(ctx.cfg.web.public_url)
    response = render(request, settings, "login.html", status, login_token=token,
                      error=error, name=name,
                      next=safe_next(request.query_params.get("next", "/")),
                      passkey_problem=refusal(site, request.headers.get("host", "")),
                      passkeys_set_up=site is not None)
    response.set_cookie(settings.login_cookie, token, max_age=3600, httponly=True,
                        secure=settings.tls, samesite="strict", path="/")
    return response


def logged_in(response: Response, settings: Settings, token: str, hours: float) -> Response:
    """The session cookie of a new login on `response`; the login form's cookie is spent."""
    response.set_cookie(settings.session_cookie, token, max_age=int(hours * 3600),
                        httponly=True, secure=settings.tls, samesite="strict", path="/")
    response.delete_cookie(settings.login_cookie, path="/", secure=settings.tls,
                           httponly=True, samesite="strict")
    return response


async def login_form(request: Request) -> Response:
    return _form_page(request, request.app.state.settings)


async def login(request: Request) -> Response:
    ctx: WebContext = request.app.state.ctx
    settings: Settings = request.app.state.settings
    check_origin(request, settings)
    form = await read_form(request)

    def one(key: str) -> str:
        return (form.get(key) or [""])[0]

    if not same_token(one("login_token"), request.cookies.get(settings.login_cookie, "")):
        raise HTTPException(403, "The login form is out of date. Reload the page and try "
                                 "again (cookies must be allowed for this site).")
    name, password = one("name").strip().lower()[:64], one("password")
    addr = client_addr(request)
    now = time.time()
    cfg = ctx.cfg.web

    def attempt() -> tuple[str, Any]:
        result: Any = None
        with ctx.accounts() as acc:
            try:
                ok = acc.login(name, password, addr, now, limit=cfg.lockout_failures,
                               lockout_s=cfg.lockout_minutes * 60)
            except LockedOut as exc:
                kind, result = "locked", str(exc)
            else:
                if ok:
                    kind, result = "ok", acc.open_session(name, now, cfg.session_hours * 3600)
                else:
                    kind, result = "bad", None
                    if acc.locked(name, now):
                        kind = "now_locked"
        with ctx.access() as access:
            entry = {"ok": AccessKind.LOGIN, "bad": AccessKind.LOGIN_FAILED,
                     "now_locked": AccessKind.LOCKED_OUT, "locked": AccessKind.LOCKED_OUT}[kind]
            access.append(entry, None, {"account": name or "(empty)", "addr": addr}, at=now)
        return kind, result

    kind, result = await run_in_threadpool(attempt)
    if kind == "ok":
        token, _session = result
        log.info("web login: %s from %s", name, addr)
        response: Response = RedirectResponse(safe_next(one("next")), status_code=303)
        return logged_in(response, settings, token, cfg.session_hours)
    log.warning("web login refused for %r from %s (%s)", name[:32], addr, kind)
    if kind == "bad":
        return _form_page(request, settings, status=401, name=name,
                          error="Wrong account name or password.")
    message = result if kind == "locked" else (
        f"Too many failed logins: this account is locked for {cfg.lockout_minutes:g} minutes.")
    return _form_page(request, settings, status=429, name=name, error=message)


@action
def logout(call: Call) -> Response:
    token = call.request.cookies.get(call.settings.session_cookie)
    with call.ctx.accounts() as acc:
        acc.close_session(token)
    call.log(AccessKind.LOGOUT)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(call.settings.session_cookie, path="/", secure=call.settings.tls,
                           httponly=True, samesite="strict")
    return response
