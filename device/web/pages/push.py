"""Web Push: the service worker, its scripts, and a browser's (un)subscription.

`subscribe.js` posts JSON (not a form), with the session's CSRF token in a header; the
origin check and the login are the same as for every form post. Answers are plain text
(the script shows them to the owner), never an HTML page.

The service worker renews a subscription its browser rotated (`pushsubscriptionchange`). It
has no page and so no CSRF token; instead of one it proves it held the old subscription with
that subscription's change token (see device.web.push.subscriptions), which works once, for
that subscription of the logged-in account, and is replaced by the answer's. The origin
check and the login are the same as for every post.
"""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response

from device.web.call import read_json, script_session
from device.web.context import WebContext

MAX_BODY = 8 * 1024
# device.web.push's static files, named without importing it (its HTTP client is heavy and
# is loaded only when push is on).
STATIC_DIR = Path(__file__).resolve().parent.parent / "push" / "static"


async def service_worker(request: Request) -> Response:
    # Served at the root so that its scope covers every page (the notification opens "/").
    return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript",
                        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})


async def subscribe_script(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "subscribe.js", media_type="text/javascript")


async def settings_script(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "settings.js", media_type="text/javascript")


async def renew_script(request: Request) -> Response:
    # Loaded by the page and imported by the service worker (same origin, same scope).
    return FileResponse(STATIC_DIR / "renew.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})


async def _json_call(request: Request, *, csrf: bool = True
                     ) -> tuple[WebContext, str, object]:
    """(context, account, parsed body) of an authenticated same-origin JSON post; with
    `csrf`, the session's CSRF token must be in its header."""
    ctx, _, session = await script_session(request, csrf=csrf)
    if not ctx.cfg.push.enabled:
        raise HTTPException(400, "Notifications are turned off on this device "
                                 "([push] enabled = false in its config).")
    return ctx, session.name, await read_json(request, MAX_BODY, "the subscription")


async def subscribe(request: Request) -> Response:
    ctx, account, body = await _json_call(request)
    if not isinstance(body, dict):
        raise HTTPException(400, "subscription must be a JSON object, as "
                                 "PushSubscription.toJSON() gives")
    from device.web.push import InvalidSubscription

    try:
        done = await run_in_threadpool(ctx.push.subscribe, account, body)
    except InvalidSubscription as exc:
        return PlainTextResponse(str(exc), status_code=400)
    return JSONResponse({"subscribed": True, "id": done.id, "change_token": done.change_token})


async def change(request: Request) -> Response:
    """The service worker's renewal: {"old_endpoint", "token", "subscription"}."""
    ctx, account, body = await _json_call(request, csrf=False)
    fields = body if isinstance(body, dict) else {}
    old, token, new = (fields.get("old_endpoint"), fields.get("token"),
                       fields.get("subscription"))
    if not (isinstance(old, str) and old and isinstance(token, str) and token
            and isinstance(new, dict)):
        raise HTTPException(400, "Send {\"old_endpoint\": URL, \"token\": the change token, "
                                 "\"subscription\": the new PushSubscription JSON}.")
    from device.web.push import ChangeRefused, InvalidSubscription

    try:
        done = await run_in_threadpool(ctx.push.change, account, old, token, new)
    except InvalidSubscription as exc:
        return PlainTextResponse(str(exc), status_code=400)
    except ChangeRefused:
        return PlainTextResponse("This browser's notifications could not be renewed: turn "
                                 "them on again on the Device page.", status_code=403)
    return JSONResponse({"renewed": True, "id": done.id, "change_token": done.change_token})


async def unsubscribe(request: Request) -> Response:
    ctx, account, body = await _json_call(request)
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        raise HTTPException(400, "Send {\"endpoint\": URL} of the subscription to remove.")
    removed = await run_in_threadpool(ctx.push.unsubscribe, account, endpoint)
    return JSONResponse({"removed": removed})
