"""/login and /logout."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from device.web import words
from device.web.access import AccessKind
from device.web.accounts import (
    DEVICE_COOKIE_DAYS,
    NAME_RE,
    Attempt,
    LockedOut,
    Pause,
)
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
from device.web.guessing import GATE, RecordQuota
from device.web.passkeys.site import refusal, site_of
from device.web.security import same_token
from device.web.sources import source_key
from uplink.audit import AuditLog

log = logging.getLogger("doorcam.web")
# Password logins wait for their turn here, not in a worker thread: a burst of them cannot
# take the threads every page needs (the check itself runs one at a time: accounts.py).
PASSWORD_LOGINS = anyio.CapacityLimiter(1)
# Refused password logins written down (a source's pause bounds its own; this, many sources').
REFUSALS = RecordQuota()


@dataclass(frozen=True)
class _Answer:
    """What a password login came to."""

    signed_in: tuple[str, str] | None  # (session token, device cookie)
    paused: LockedOut | None  # the pause that refused it, or that its failure began
    written: bool = True  # in the access log (refusals: within `REFUSALS`' bounds)


def paused_words(exc: LockedOut) -> str:
    return words.paused(exc.pause, exc.seconds)


def safe_next(value: str) -> str:
    """`value` if it is a path on this site, else "/". No whitespace or control characters:
    a browser drops tabs and newlines from a URL, so "/<tab>/evil.example" would take it to
    //evil.example."""
    ok = (value.startswith("/") and not value.startswith("//") and "\\" not in value
          and all(c.isprintable() and not c.isspace() for c in value))
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
                        secure=settings.https, samesite="strict", path="/")
    return response


def logged_in(response: Response, settings: Settings, token: str, hours: float, *,
              account: str, device_cookie: str) -> Response:
    """The session cookie of a new login on `response`, and the browser's new device cookie
    for `account` (it has now signed in before); the login form's cookie is spent."""
    response.set_cookie(settings.session_cookie, token, max_age=int(hours * 3600),
                        httponly=True, secure=settings.https, samesite="strict", path="/")
    response.set_cookie(settings.device_cookie(account), device_cookie,
                        max_age=DEVICE_COOKIE_DAYS * 86400, httponly=True,
                        secure=settings.https, samesite="strict", path="/")
    response.delete_cookie(settings.login_cookie, path="/", secure=settings.https,
                           httponly=True, samesite="strict")
    return response


def attempt_of(request: Request, settings: Settings, name: str) -> Attempt:
    """How a login to `name` from this request is counted: by its source address, or by
    the device cookie it carries for `name`."""
    cookie = request.cookies.get(settings.device_cookie(name)) if NAME_RE.fullmatch(
        name) else None
    return Attempt(name, source_key(client_addr(request)), cookie)


def record(access: AuditLog, kind: AccessKind, attempt: Attempt, addr: str, now: float,
           **detail: Any) -> None:
    """One access-log entry about a login attempt."""
    access.append(kind, None, {"account": attempt.name or "(empty)", "addr": addr,
                               **detail}, at=now)


def record_paused(ctx: WebContext, access: AuditLog, paused: tuple[Pause, ...],
                  attempt: Attempt, addr: str, now: float, *, write: bool = True) -> None:
    """A "guessing" entry for each pause a failure began (unless not `write`), and a push
    to the account's browsers (at most one every few minutes: `guessing.GATE`)."""
    cfg = ctx.cfg.web
    for pause in paused if write else ():
        record(access, AccessKind.GUESSING, attempt, addr, now, paused=pause.value,
               failures=cfg.lockout_failures, minutes=cfg.lockout_minutes)
        log.warning("web login: %d failed logins (%s %s); paused for %g minutes",
                    cfg.lockout_failures, pause.value,
                    addr if pause is Pause.SOURCE else attempt.name, cfg.lockout_minutes)
    if paused and attempt.name and ctx.cfg.push.enabled and GATE.open(attempt.name):
        ctx.push.alert(attempt.name, words.GUESSING_PUSH)


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
    who = attempt_of(request, settings, name)
    now = time.time()
    cfg = ctx.cfg.web

    def written() -> bool:
        """Whether an entry about this refusal goes into the access log: a source's
        failures, the pauses they begin (its own and the account's) and its first refused
        attempt, within `REFUSALS`' bound in all."""
        return REFUSALS.take(who.source, cfg.lockout_failures + 3, cfg.lockout_minutes * 60)

    def attempt() -> _Answer:
        with ctx.accounts() as acc, ctx.access() as access:
            try:
                outcome = acc.login(who, password, now, limit=cfg.lockout_failures,
                                    lockout_s=cfg.lockout_minutes * 60)
            except LockedOut as exc:
                # Only a pause's first refusal: a guesser hammering on must not fill the
                # log (each entry is a synced write).
                write = exc.refused == 1 and written()
                if write:
                    record(access, AccessKind.LOCKED_OUT, who, addr, now,
                           paused=exc.pause.value)
                return _Answer(None, exc, write)
            write = outcome.ok or written()
            if write:
                record(access, AccessKind.LOGIN if outcome.ok else AccessKind.LOGIN_FAILED,
                       who, addr, now, browser="known" if outcome.known_device else "new")
            record_paused(ctx, access, outcome.paused, who, addr, now,
                          write=write and all(written() for _ in outcome.paused))
            if outcome.ok:
                return _Answer((acc.open_session(name, now, cfg.session_hours * 3600)[0],
                                acc.device_cookie(name)), None)
            if outcome.paused:
                return _Answer(None, LockedOut(cfg.lockout_minutes * 60, outcome.paused[0]),
                               write)
            return _Answer(None, None, write)

    answer = await anyio.to_thread.run_sync(attempt, limiter=PASSWORD_LOGINS)
    if answer.signed_in is not None:
        token, device = answer.signed_in
        log.info("web login: %s from %s", name, addr)
        response: Response = RedirectResponse(safe_next(one("next")), status_code=303)
        return logged_in(response, settings, token, cfg.session_hours, account=name,
                         device_cookie=device)
    if answer.written:
        log.warning("web login refused for %r from %s (%s)", name[:32], addr,
                    "wrong password" if answer.paused is None else
                    f"{answer.paused.pause.value} paused")
    if answer.paused is None:
        return _form_page(request, settings, status=401, name=name,
                          error="Wrong account name or password.")
    response = _form_page(request, settings, status=429, name=name,
                          error=paused_words(answer.paused))
    response.headers["Retry-After"] = str(max(1, round(answer.paused.seconds)))
    return response


@action
def logout(call: Call) -> Response:
    token = call.request.cookies.get(call.settings.session_cookie)
    with call.ctx.accounts() as acc:
        acc.close_session(token)
    call.log(AccessKind.LOGOUT)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(call.settings.session_cookie, path="/", secure=call.settings.https,
                           httponly=True, samesite="strict")
    return response
