"""Passkeys: adding one (with the password again), removing one, and signing in with one.

The ceremonies' own posts are JSON from static/passkeys.js: adding carries the session's
CSRF token in a header, signing in the login form's token (checked against its cookie, as
the password form is). Every post passes the same origin check as a form. A ceremony's
challenge is kept on the server, bound to the session or login form that asked for it,
for two minutes, and is spent by the first answer. Answers are plain text or JSON.

Signing in opens the same session, gives the same device cookie and writes the same
access-log entries as the password form. It is not held back by paused password logins: a
passkey cannot be guessed, so failed password logins never keep its owner out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from device.web.access import AccessKind
from device.web.accounts import Attempt, LockedOut, Session
from device.web.call import (
    Call,
    Settings,
    action,
    check_origin,
    client_addr,
    read_json,
    script_session,
)
from device.web.context import WebContext
from device.web.guessing import PASSKEY_REFUSALS
from device.web.pages.login import (
    attempt_of,
    logged_in,
    paused_words,
    record_paused,
    safe_next,
)
from device.web.passkeys import ceremonies
from device.web.passkeys.ceremony import (
    CHALLENGE_S,
    PasskeyRefused,
    assertion_of,
    counter_regressed,
    registration_of,
)
from device.web.passkeys.site import Site, refusal, site_of
from device.web.passkeys.store import Passkey, PasskeyError, PasskeyStore, binding
from device.web.security import same_token
from device.web.sources import source_key
from device.web.words import Done

LOGIN_HEADER = "X-Login-Token"
MAX_BODY = 32 * 1024
MAX_LABEL = 60
log = logging.getLogger("doorcam.web")


@contextmanager
def _store(ctx: WebContext) -> Iterator[PasskeyStore]:
    with ctx.accounts():  # makes the accounts tables the passkeys hang off
        pass
    with PasskeyStore(ctx.paths.accounts) as store:
        yield store


def _site(request: Request, ctx: WebContext) -> Site:
    site = site_of(ctx.cfg.web.public_url)
    problem = refusal(site, request.headers.get("host", ""))
    if problem or site is None:
        raise HTTPException(400, problem or "Passkeys are not set up.")
    return site


async def _json(request: Request) -> dict[str, Any]:
    parsed = await read_json(request, MAX_BODY)
    if not isinstance(parsed, dict):
        raise HTTPException(400, "The body is not a JSON object.")
    return parsed


async def _owner_call(request: Request) -> tuple[WebContext, Site, Session, str,
                                                  dict[str, Any]]:
    """(context, site, session, session token, body) of a logged-in owner's JSON post
    carrying the session's CSRF token."""
    ctx, settings, session = await script_session(request)
    site = _site(request, ctx)
    body = await _json(request)
    return ctx, site, session, request.cookies.get(settings.session_cookie, ""), body


def _confirm_password(ctx: WebContext, attempt: Attempt, password: str, addr: str,
                      now: float) -> None:
    """The logged-in owner's password again, counted as a login attempt (a stolen session
    must not be able to guess it to add a way in)."""
    cfg = ctx.cfg.web
    account = attempt.name
    with ctx.accounts() as acc:
        try:
            outcome = acc.login(attempt, password, now, limit=cfg.lockout_failures,
                                lockout_s=cfg.lockout_minutes * 60)
        except LockedOut as exc:
            raise HTTPException(429, paused_words(exc)) from None
    if outcome.paused:
        with ctx.access() as access:
            record_paused(ctx, access, outcome.paused, attempt, addr, now)
    if not outcome.ok:
        log.warning("passkey change refused for %s from %s: wrong password", account, addr)
        raise HTTPException(403, "Wrong password: nothing was changed.")


def _label(value: object) -> str:
    label = " ".join(str(value or "").split())
    if not label or len(label) > MAX_LABEL or not label.isprintable():
        raise HTTPException(400, f"Name the passkey (1 to {MAX_LABEL} characters), e.g. "
                                 "\"Alex's phone\".")
    return label


async def register_begin(request: Request) -> Response:
    """{"label", "password"} -> {"publicKey": creation options}."""
    ctx, site, session, token, body = await _owner_call(request)
    label, password = _label(body.get("label")), str(body.get("password") or "")
    addr, now = client_addr(request), time.time()
    attempt = attempt_of(request, request.app.state.settings, session.name)

    def begin() -> dict[str, Any]:
        _confirm_password(ctx, attempt, password, addr, now)
        with _store(ctx) as store:
            handle = store.user_handle(session.name)
            mine = [k.id for k in store.of(session.name) if k.rp_id == site.rp_id]
            options, state = ceremonies(site).registration(session.name, handle, mine)
            store.hold(binding("session", token), "register",
                       {"state": state, "label": label, "account": session.name}, now,
                       CHALLENGE_S)
        return options

    return JSONResponse({"publicKey": await run_in_threadpool(begin)})


async def register_finish(request: Request) -> Response:
    """The browser's new credential -> {"added": label}."""
    ctx, site, session, token, body = await _owner_call(request)
    addr, now = client_addr(request), time.time()

    def finish() -> str:
        with _store(ctx) as store:
            held = store.take(binding("session", token), "register", now)
            if held is None or held.get("account") != session.name:
                raise HTTPException(400, "This passkey request expired or was already "
                                         "answered: start again.")
            try:
                new = ceremonies(site).register(_state(held), registration_of(body))
            except PasskeyRefused as exc:
                log.warning("passkey registration refused for %s from %s: %s",
                            session.name, addr, exc)
                raise HTTPException(400, f"The passkey was not added: {exc}.") from None
            label = str(held["label"])
            try:
                store.add(Passkey(new.credential_id, session.name, label, site.rp_id,
                                  new.public_key, new.sign_count, now, None))
            except PasskeyError as exc:
                raise HTTPException(409, f"The passkey was not added: {exc}.") from None
        with ctx.access() as access:
            access.append(AccessKind.PASSKEY_ADDED, None,
                          {"account": session.name, "passkey": label, "addr": addr}, at=now)
        log.info("passkey %r added for %s from %s", label, session.name, addr)
        return label

    return JSONResponse({"added": await run_in_threadpool(finish)})


def _state(held: dict[str, Any]) -> dict[str, Any]:
    """The kept ceremony state, with user verification required whatever it says."""
    state = held.get("state")
    if not isinstance(state, dict) or not isinstance(state.get("challenge"), str):
        raise HTTPException(400, "This passkey request is damaged: start again.")
    return {"challenge": state["challenge"], "user_verification": "required"}


@action
def remove(call: Call) -> Response:
    """A form post: the passkey's reference and the password again."""
    addr = client_addr(call.request)
    _confirm_password(call.ctx, attempt_of(call.request, call.settings, call.account),
                      call.field("password"), addr, call.now)
    with _store(call.ctx) as store:
        gone = store.remove(call.account, call.field("passkey"))
    if gone is None:
        raise HTTPException(404, "You have no such passkey (it may be removed already).")
    call.log(AccessKind.PASSKEY_REMOVED, passkey=gone.label, addr=addr)
    log.info("passkey %r removed for %s from %s", gone.label, call.account, addr)
    return RedirectResponse(f"/device?done={Done.PASSKEY_REMOVED}#passkeys", status_code=303)


async def _login_call(request: Request) -> tuple[WebContext, Site, str]:
    """(context, site, login-form token) of a JSON post from the login page."""
    ctx: WebContext = request.app.state.ctx
    settings: Settings = request.app.state.settings
    check_origin(request, settings)
    token = request.headers.get(LOGIN_HEADER, "")
    if not same_token(token, request.cookies.get(settings.login_cookie, "")):
        raise HTTPException(403, "The login page is out of date. Reload it and try again "
                                 "(cookies must be allowed for this site).")
    return ctx, _site(request, ctx), token


async def login_begin(request: Request) -> Response:
    """-> {"publicKey": request options} for any passkey of this site."""
    ctx, site, token = await _login_call(request)
    now = time.time()

    def begin() -> dict[str, Any]:
        with _store(ctx) as store:
            options, state = ceremonies(site).sign_in()
            store.hold(binding("login", token), "login", {"state": state}, now, CHALLENGE_S)
        return options

    return JSONResponse({"publicKey": await run_in_threadpool(begin)})


class _Refused(Exception):
    def __init__(self, account: str | None, why: str, status: int = 401,
                 shown: str = "That passkey did not sign you in.") -> None:
        super().__init__(why)
        self.account, self.status, self.shown = account, status, shown


async def login_finish(request: Request) -> Response:
    """The browser's assertion (and {"next"}) -> {"next": where to go}, logged in."""
    ctx, site, token = await _login_call(request)
    settings: Settings = request.app.state.settings
    body = await _json(request)
    addr, now, cfg = client_addr(request), time.time(), ctx.cfg.web

    def verify(store: PasskeyStore) -> str:
        """The account the assertion signs in; _Refused says why not."""
        held = store.take(binding("login", token), "login", now)
        if held is None:
            raise _Refused(None, "no such challenge (expired or already answered)", 400,
                           "This sign-in expired or was already answered: try again.")
        try:
            answer = assertion_of(body)
        except PasskeyRefused as exc:
            raise _Refused(None, str(exc)) from None
        key = store.get(answer.credential_id)
        if key is None or key.rp_id != site.rp_id:
            raise _Refused(None, "unknown passkey", shown="This passkey is not registered "
                           "on this doorcam (removed, or made at another address).")
        if store.handle_owner(answer.user_handle) != key.name:
            raise _Refused(key.name, "the passkey's user handle is not its account's")
        with ctx.accounts() as acc:
            if not acc.exists(key.name):
                raise _Refused(None, "the passkey's account is gone")
        try:
            count = ceremonies(site).verify(_state(held), key.public_key, answer)
        except PasskeyRefused as exc:
            raise _Refused(key.name, str(exc)) from None
        if counter_regressed(key.sign_count, count):
            log.warning("passkey %r of %s: sign counter went from %d to %d (a cloned "
                        "authenticator?); sign-in refused", key.label, key.name,
                        key.sign_count, count)
            raise _Refused(key.name, f"sign counter {count} not above {key.sign_count}")
        store.used(key.id, count, now)
        return key.name

    def attempt() -> tuple[str | None, Any]:
        try:
            with _store(ctx) as store:
                name = verify(store)
        except _Refused as refused:
            return None, _refused(ctx, refused, addr, now)
        with ctx.accounts() as acc:
            session_token, _session = acc.open_session(name, now, cfg.session_hours * 3600)
            device = acc.device_cookie(name)
        with ctx.access() as access:
            access.append(AccessKind.LOGIN, None, {"account": name, "addr": addr,
                                                   "with": "passkey"}, at=now)
        log.info("web login: %s from %s (passkey)", name, addr)
        return name, (session_token, device)

    name, result = await run_in_threadpool(attempt)
    if name is None:
        assert isinstance(result, Response)
        return result
    response = JSONResponse({"next": safe_next(str(body.get("next") or "/"))})
    session_token, device = result
    return logged_in(response, settings, session_token, cfg.session_hours, account=name,
                     device_cookie=device)


def _refused(ctx: WebContext, refused: _Refused, addr: str, now: float) -> Response:
    """Log a refused sign-in as a failed login (within `PASSKEY_REFUSALS`' bounds); the
    answer for the page. It pauses nothing: a refused passkey guesses no password."""
    cfg = ctx.cfg.web
    if PASSKEY_REFUSALS.take(source_key(addr), cfg.lockout_failures,
                             cfg.lockout_minutes * 60):
        with ctx.access() as access:
            access.append(AccessKind.LOGIN_FAILED, None,
                          {"account": refused.account or "(unknown passkey)", "addr": addr,
                           "with": "passkey"}, at=now)
        log.warning("passkey sign-in refused from %s%s: %s", addr,
                    f" for {refused.account}" if refused.account else "", refused)
    return PlainTextResponse(refused.shown, status_code=refused.status)
