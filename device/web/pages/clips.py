"""/clips and /clips/ID: the clips on the device by day, and one clip with the events
before and after it; play, download, hold, delete."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from device.store import ClipNotFound, ClipRecord, InvalidClipId, validate_clip_id
from device.store.index import Cursor
from device.web import timefmt, words
from device.web.access import AccessKind
from device.web.call import Call, action, page
from device.web.events import EventKind, kind_of, store_filter
from device.web.media import file_response
from device.web.pages.timeline import cursor_text, filters_of, parse_cursor
from device.web.words import Done
from uplink.desk.book import RequestStatus

PAGE = 40  # clips per page: a phone loads this many posters, not the whole store


@dataclass(frozen=True)
class Day:
    title: str
    offset: str
    clips: list[tuple[ClipRecord, EventKind]]


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


@page
def clips_page(call: Call) -> Response:
    """Keyset pages (`?before=`/`?after=` a clip; `?clip=ID` starts the page at that clip):
    a page reads PAGE+1 rows however big the store is."""
    q = call.request.query_params
    zone = call.zone
    before: Cursor | None = parse_cursor(q["before"]) if q.get("before") else None
    after: Cursor | None = parse_cursor(q["after"]) if q.get("after") and not before else None
    inclusive = False
    with call.ctx.clips() as view:
        if "clip" in q and before is None and after is None:
            try:
                wanted = view.get(validate_clip_id(q["clip"]))
                before, inclusive = (wanted.start_wall, wanted.id), True
            except (InvalidClipId, ClipNotFound):
                pass
        count, size = view.totals()
        rows = view.page(PAGE + 1, before=before, after=after, inclusive=inclusive)
        if after is not None:
            has_newer, rows = len(rows) > PAGE, rows[-PAGE:]
            has_older = bool(rows) and bool(view.page(1, before=_at(rows[-1])))
        else:
            has_older, rows = len(rows) > PAGE, rows[:PAGE]
            has_newer = bool(rows) and view.count(newer_than=_at(rows[0])) > 0
    days: list[Day] = []
    for rec in rows:
        title = timefmt.day(rec.start_wall, zone)
        if not days or days[-1].title != title:
            days.append(Day(title, zone.offset(rec.start_wall), []))
        days[-1].clips.append((rec, kind_of(rec)))
    return call.render("clips.html", days=days, count=count, size=size, needed=_needed(call),
                       words=words,
                       newer=f"after={cursor_text(rows[0])}" if rows and has_newer else None,
                       older=f"before={cursor_text(rows[-1])}" if rows and has_older else None)


def _at(rec: ClipRecord) -> Cursor:
    return rec.start_wall, rec.id


@page
def clip_page(call: Call) -> Response:
    """One clip: its player, kind, time and length, the newer and older event (of the same
    kind with ?kind=), and what the owner can do with it."""
    cid = _clip_id(call)
    f = filters_of(call)
    only = store_filter(f.kind)
    with call.ctx.clips() as view:
        rec = view.get(cid)
        newer = view.page(1, after=_at(rec), trigger=only.trigger, label=only.label)
        older = view.page(1, before=_at(rec), trigger=only.trigger, label=only.label)
    suffix = f"?kind={f.kind.value}" if f.kind else ""
    day = call.zone.local(rec.start_wall).date().isoformat()
    return call.render("clip.html", clip=rec, kind=kind_of(rec), words=words,
                       needed=cid in _needed(call), suffix=suffix,
                       newer=newer[0] if newer else None, older=older[0] if older else None,
                       back="/?" + f.query(day=day) + f"#e-{cid}")


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
    return RedirectResponse(f"/clips/{cid}?done={done}", status_code=303)


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
