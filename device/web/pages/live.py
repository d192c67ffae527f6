"""/live: the porch now, as video from the camera's own stream, and the current snapshot.

The daemon publishes the files (fragmented MP4, an HLS playlist and its segments, an index,
a JPEG) into its live directory on tmpfs; this module only serves them, to logged-in owners
on this app's own pages, and records who watched when in the household access log. It never
touches the camera or the media stack.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from common.livefiles import INDEX, SNAPSHOT, content_type, is_live_file, numbered
from device.web.access import AccessKind
from device.web.call import Call, page, session_of
from device.web.context import WebContext
from device.web.liveviews import LiveView, LiveViews
from device.web.words import LIVE, LiveAnswer

UNIT = "doorcam.service"
WAIT_S = 3.0  # the longest a request for the next fragment waits for it to be published
POLL_S = 0.04
AHEAD = 4  # fragments a player may ask for ahead of the newest published one
VIEW_ID = re.compile(r"[A-Za-z0-9_-]{16}", re.ASCII)
NOTHING = b'{"generation":0,"init":null,"codec":null,"fragments":[]}'


def service_status() -> tuple[str, str] | None:
    """(ActiveState, StatusText) the doorcam service reports to systemd, if readable.

    The daemon's STATUS line carries frames/s, the last event, pending requests and camera
    faults; reading it needs no access to the daemon itself.
    """
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    try:
        done = subprocess.run([systemctl, "show", UNIT, "--property=LoadState",
                               "--property=ActiveState", "--property=StatusText"],
                              capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    values = dict(line.partition("=")[::2] for line in done.stdout.splitlines())
    if values.get("LoadState") != "loaded" or not values.get("ActiveState"):
        return None
    return values["ActiveState"], values.get("StatusText", "")


def views_of(request: Request) -> LiveViews:
    views: LiveViews | None = getattr(request.app.state, "live_views", None)
    if views is None:
        views = request.app.state.live_views = LiveViews()
    return views


def record(ctx: WebContext, started: LiveView | None, ended: list[LiveView]) -> None:
    """Access log entries for live views that started and ended."""
    if started is None and not ended:
        return
    with ctx.access() as log:
        if started is not None:
            log.append(AccessKind.LIVE_STARTED, None, {"account": started.account},
                       at=started.start)
        for v in ended:
            log.append(AccessKind.LIVE_ENDED, None,
                       {"account": v.account, "from": round(v.start, 3),
                        "to": round(v.last, 3)}, at=v.last)


def end_live_views(app: Any) -> None:
    """The web app stops: every live view it was serving ends now (in the log)."""
    views: LiveViews | None = getattr(app.state, "live_views", None)
    if views is not None:
        record(app.state.ctx, None, views.end_all())


def end_idle_views(call: Call) -> None:
    """Log the live views that have had no request for a while (any page may ask)."""
    record(call.ctx, None, views_of(call.request).expire(call.now))


@page
def live(call: Call) -> Response:
    end_idle_views(call)
    snapshot = call.ctx.paths.live / SNAPSHOT
    try:
        age: float | None = max(0.0, call.now - snapshot.stat().st_mtime)
    except OSError:
        age = None
    return call.render("live.html", view=secrets.token_urlsafe(12), snapshot_age=age,
                       status=service_status())


def cross_site(request: Request, trusted: tuple[str, ...]) -> bool:
    """A read that another site's page made (a fetch, an <img>, a <video>): browsers say so
    in Sec-Fetch-Site, and in Origin for fetches. Typing the address is "none": allowed."""
    headers = request.headers
    origin = headers.get("origin", "")
    if origin and origin in trusted:
        return False
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    if origin and origin != "null":
        return urlsplit(origin).netloc != headers.get("host", "")
    return False


async def live_file(request: Request) -> Response:
    """GET /live/NAME: one file of the live directory. `?wait=1` on the next fragment waits
    (at most WAIT_S) until it is published, so a player asks once per fragment."""
    ctx: WebContext = request.app.state.ctx
    settings = request.app.state.settings
    if cross_site(request, settings.trusted_origins):
        return PlainTextResponse(LIVE[LiveAnswer.CROSS_SITE], 403)
    now = time.time()
    session = await session_of(request, ctx, settings, now)
    if session is None:
        return PlainTextResponse(LIVE[LiveAnswer.NOT_LOGGED_IN], 401)
    name = str(request.path_params.get("name", ""))
    if not is_live_file(name):
        return PlainTextResponse(LIVE[LiveAnswer.NO_SUCH_FILE], 404)
    directory = ctx.paths.live
    data = await _read(directory, name, request.query_params.get("wait") == "1")
    if name != SNAPSHOT:
        view = request.query_params.get("view", "")
        cookie = request.cookies.get(settings.session_cookie, "")
        key = view if VIEW_ID.fullmatch(view) else \
            "s:" + hashlib.sha256(cookie.encode()).hexdigest()[:16]
        started, ended = views_of(request).touch(session.name, key, now)
        await run_in_threadpool(record, ctx, started, ended)
    if data is None and name == INDEX:
        # Nothing published: the camera is off. The player asks again; not an error.
        return Response(NOTHING, media_type="application/json",
                        headers={"Cache-Control": "no-store"})
    if data is None:
        return PlainTextResponse(LIVE[LiveAnswer.NOT_PUBLISHED], 404)
    body, mtime = data
    headers = {"Cache-Control": "no-store"}
    if name == SNAPSHOT:
        headers["X-Snapshot-Age"] = f"{max(0.0, now - mtime):.3f}"
    return Response(body, media_type=content_type(name), headers=headers)


async def _read(directory: Path, name: str, wait: bool) -> tuple[bytes, float] | None:
    path = directory / name
    deadline = time.monotonic() + WAIT_S
    coming: bool | None = None
    while True:
        try:
            with open(path, "rb") as f:
                return f.read(), os.fstat(f.fileno()).st_mtime
        except (FileNotFoundError, NotADirectoryError):
            pass
        if not wait or time.monotonic() > deadline:
            return None
        if coming is None:
            coming = _next_fragment(directory, name)
        if not coming:
            return None
        await asyncio.sleep(POLL_S)


def _next_fragment(directory: Path, name: str) -> bool:
    """`name` is a fragment the publisher has not written yet but soon will."""
    which = numbered(name)
    if which is None or which[0] != "fragment":
        return False
    try:
        index = json.loads((directory / INDEX).read_bytes())
        newest = max(int(f["n"]) for f in index["fragments"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return newest < which[1] <= newest + AHEAD
