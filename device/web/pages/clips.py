"""/clips: the clips on the device by day; play, download, hold, delete."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from device.store import ClipNotFound, ClipRecord, InvalidClipId, validate_clip_id
from device.store.view import ClipView
from device.web import timefmt
from device.web.access import AccessKind
from device.web.call import Call, action, page
from device.web.media import file_response
from device.web.words import Done
from uplink.desk.book import RequestStatus

PAGE = 40  # clips per page: a phone loads this many posters, not the whole store


@dataclass(frozen=True)
class Day:
    title: str
    offset: str
    clips: list[ClipRecord]


def _clip_id(call: Call) -> str:
    return validate_clip_id(str(call.request.path_params.get("cid", "")))


def _needed(call: Call) -> set[str]:
    """Clips a pending request (or an accepted, unfinished upload) still needs."""
    with call.ctx.book() as book:
        if book is None:
            return set()
        open_requests = book.requests([RequestStatus.PENDING, RequestStatus.ACCEPTED])
        return {c.clip_id for r in open_requests for c in r.clips
                if book.clip_still_needed(c.clip_id)}


def _page_number(call: Call, view: ClipView) -> int:
    """?clip=ID: the page showing that clip (links to one clip land on it); else ?page=N."""
    q = call.request.query_params
    try:
        wanted = view.get(validate_clip_id(q["clip"])) if "clip" in q else None
    except (InvalidClipId, ClipNotFound):
        wanted = None
    if wanted is not None:  # newest first: its place among the clips as new or newer
        newer = [r.id for r in view.list(since=wanted.start_wall)]
        return newer.index(wanted.id) // PAGE if wanted.id in newer else 0
    raw = q.get("page", "1")
    return max(0, int(raw) - 1) if raw.isdigit() and len(raw) < 7 else 0


@page
def clips_page(call: Call) -> Response:
    with call.ctx.clips() as view:
        count, size = view.totals()
        pages = max(1, -(-count // PAGE))
        number = min(_page_number(call, view), pages - 1)
        # Only the rows up to this page: all of a 1,000-clip store takes ~40 ms to read.
        shown = view.list(limit=(number + 1) * PAGE)[number * PAGE:]
    days: list[Day] = []
    for rec in shown:
        title = timefmt.day(rec.start_wall)
        if not days or days[-1].title != title:
            days.append(Day(title, timefmt.offset(rec.start_wall), []))
        days[-1].clips.append(rec)
    return call.render("clips.html", days=days, count=count, size=size, needed=_needed(call),
                       page=number + 1, pages=pages)


@page
def video(call: Call) -> Response:
    cid = _clip_id(call)
    with call.ctx.clips() as view:
        view.get(cid)
        path = view.clip_path(cid)
    rng = call.request.headers.get("range", "")
    response = file_response(path, rng, "video/mp4")
    if not rng or rng.startswith("bytes=0-"):
        call.log(AccessKind.VIEWED, clip=cid)
    return response


@page
def thumb(call: Call) -> Response:
    cid = _clip_id(call)
    with call.ctx.clips() as view:
        view.get(cid)
        path = view.thumbnail_path(cid)
    return file_response(path, "", "image/jpeg")


@page
def download(call: Call) -> Response:
    cid = _clip_id(call)
    with call.ctx.clips() as view:
        view.get(cid)
        path = view.clip_path(cid)
    response = file_response(path, call.request.headers.get("range", ""), "video/mp4",
                             download_name=f"doorcam-{cid}.mp4")
    call.log(AccessKind.DOWNLOADED, clip=cid)
    return response


def _hold(call: Call, held: bool) -> Response:
    cid = _clip_id(call)
    if not held and cid in _needed(call):
        raise HTTPException(409, "This clip is held for an agency request; it is released "
                                 "when the request is decided or expires.")
    with call.ctx.clips() as view:
        view.set_held(cid, held)
    call.log(AccessKind.HELD if held else AccessKind.RELEASED, clip=cid)
    done = Done.HELD if held else Done.RELEASED
    return RedirectResponse(f"/clips?clip={cid}&done={done}#c-{cid}", status_code=303)


@action
def hold(call: Call) -> Response:
    return _hold(call, True)


@action
def release(call: Call) -> Response:
    return _hold(call, False)


@page
def confirm_delete(call: Call) -> Response:
    cid = _clip_id(call)
    with call.ctx.clips() as view:
        rec = view.get(cid)
    return call.render("delete.html", clip=rec, blocked=cid in _needed(call))


@action
def delete(call: Call) -> Response:
    cid = _clip_id(call)
    if cid in _needed(call):
        raise HTTPException(409, "This clip is part of an agency request that awaits your "
                                 "decision (or an upload you accepted): it cannot be deleted "
                                 "until that is finished.")
    if call.field("confirm") != "yes":
        raise HTTPException(400, "Deleting needs the confirmation step: use the Delete "
                                 "button on the confirmation page.")
    with call.ctx.clips() as view:
        view.delete(cid)
    call.log(AccessKind.DELETED, clip=cid)
    return RedirectResponse(f"/clips?done={Done.DELETED}", status_code=303)
