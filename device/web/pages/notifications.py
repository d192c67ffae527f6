"""/notifications: which kinds of push this account gets, and a snooze.

Per account: everyone in the household chooses for their own browsers. The forms post like
every other form (same origin, login, CSRF token). "Until tomorrow" ends at the next midnight
of the owner's browser, which the page's script puts in the form (`until`, seconds since the
epoch); without the script, at the device's next midnight.
"""

from __future__ import annotations

import datetime as dt

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from device.web.call import Call, action, page
from device.web.kinds import ORDER, Kind
from device.web.words import KIND_HINT, KIND_NAME, Done, NotifyPage

HOUR_S = 3600.0
MAX_SNOOZE_S = 48 * 3600.0


@page
def notifications_page(call: Call) -> Response:
    on = call.ctx.cfg.push.enabled
    prefs = call.ctx.push.preferences(call.account) if on else None
    browsers = len(call.ctx.push.subscriptions(call.account)) if on else 0
    snoozed = prefs is not None and prefs.snoozed(call.now)
    return call.render(
        "notifications.html", push_on=on, prefs=prefs, browsers=browsers, snoozed=snoozed,
        kinds=[(k.value, KIND_NAME[k], KIND_HINT[k], prefs is not None and k in prefs.kinds)
               for k in ORDER], words=NotifyPage)


def _back(done: Done) -> Response:
    return RedirectResponse(f"/notifications?done={done.value}", status_code=303)


def _require_push(call: Call) -> None:
    if not call.ctx.cfg.push.enabled:
        raise HTTPException(400, NotifyPage.PUSH_OFF)


@action
def save_kinds(call: Call) -> Response:
    _require_push(call)
    known = {k.value: k for k in Kind}
    chosen = set()
    for name in call.fields("kind"):
        if name not in known:
            raise HTTPException(400, NotifyPage.BAD_KIND.format(name=name[:40]))
        chosen.add(known[name])
    call.ctx.push.set_kinds(call.account, frozenset(chosen))
    return _back(Done.NOTIFY_SAVED)


def next_local_midnight(now: float) -> float:
    """The device's next midnight (the page's script sends the browser's instead)."""
    today = dt.datetime.fromtimestamp(now).astimezone()
    tomorrow = (today + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                      microsecond=0)
    return tomorrow.timestamp()


@action
def snooze(call: Call) -> Response:
    _require_push(call)
    words = NotifyPage
    how = call.field("for")
    if how == "hour":
        until = call.now + HOUR_S
    elif how == "tomorrow":
        given = call.field("until").strip()
        if given:
            try:
                until = float(given)
            except ValueError:
                raise HTTPException(400, words.BAD_UNTIL) from None
            if not (call.now < until <= call.now + MAX_SNOOZE_S):
                raise HTTPException(400, words.BAD_UNTIL)
        else:
            until = next_local_midnight(call.now)
    else:
        raise HTTPException(400, words.BAD_SNOOZE)
    call.ctx.push.snooze(call.account, until)
    return _back(Done.SNOOZED_HOUR if how == "hour" else Done.SNOOZED_TOMORROW)


@action
def unsnooze(call: Call) -> Response:
    _require_push(call)
    call.ctx.push.snooze(call.account, None)
    return _back(Done.SNOOZE_ENDED)
