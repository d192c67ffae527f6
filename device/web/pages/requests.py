"""/requests: agency requests awaiting a decision, and those already decided or expired;
sharing goes through a confirmation page (no script needed) that names the agency, the case
and the exact clips, and says it cannot be undone; declining is one tap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from device.store import ClipNotFound, ClipRecord
from device.web import words
from device.web.access import AccessKind
from device.web.area import AreaPicture, area_picture
from device.web.call import Call, action, page, request_id_param
from device.web.context import Unavailable
from device.web.events import EventKind, kind_of
from device.web.outside import mixed_scripts
from device.web.words import Done
from uplink.desk.book import Channel, DecisionRow, RequestRow, RequestStatus
from uplink.errors import UnknownRequest
from uplink.protocol.registry import Registry


@dataclass(frozen=True)
class ClipItem:
    clip_id: str
    start: float
    end: float
    size: int
    present: bool  # still in the store
    shared: bool
    kind: EventKind | None  # a ring, a person or motion; None once the clip is gone


@dataclass(frozen=True)
class RequestItem:
    row: RequestRow
    agency: str
    agency_listed: bool
    status: RequestStatus
    status_words: str
    decision: DecisionRow | None
    clips: list[ClipItem]
    area: AreaPicture | None
    seconds_left: float
    lookalike: str  # a warning if the agency's name mixes alphabets that look alike

    @property
    def public(self) -> dict[str, Any]:
        return self.row.public


def _agency(registry: Registry | None, row: RequestRow) -> tuple[str, bool]:
    listed = registry.agency(row.agency_id) if registry is not None else None
    if listed is not None:
        return listed.name, True
    return str(row.public.get("agency") or row.agency_id), False


def _item(call: Call, row: RequestRow, decision: DecisionRow | None,
          registry: Registry | None, records: dict[str, ClipRecord | None]) -> RequestItem:
    status = row.status
    if status == RequestStatus.PENDING and row.expires_at <= call.now:
        status = RequestStatus.EXPIRED
    shared = {c for c, _ in decision.clips} if decision else set()
    clips = []
    for c in row.clips:
        rec = records.get(c.clip_id)
        clips.append(ClipItem(c.clip_id, c.start_wall, c.end_wall, c.size, rec is not None,
                              c.clip_id in shared, kind_of(rec) if rec is not None else None))
    area = None
    pub = row.public
    if isinstance(pub.get("lat"), int | float) and isinstance(pub.get("lon"), int | float):
        area = area_picture(float(pub["lat"]), float(pub["lon"]), float(pub["radius_m"]),
                            call.ctx.cfg.device.latitude, call.ctx.cfg.device.longitude)
    agency, listed = _agency(registry, row)
    mixed = mixed_scripts(agency)
    return RequestItem(row, agency, listed, status, words.STATUS[status],
                       decision, clips, area, row.expires_at - call.now,
                       words.mixed_letters(mixed, row.agency_id) if mixed else "")


@page
def requests_page(call: Call) -> Response:
    registry, problem = None, ""
    try:
        registry = call.ctx.registry(call.now)
    except Unavailable as exc:
        problem = str(exc)
    items: list[RequestItem] = []
    with call.ctx.book() as book, call.ctx.clips() as view:
        rows = book.requests() if book is not None else []
        records: dict[str, ClipRecord | None] = {}
        for row in rows:
            for c in row.clips:
                try:
                    records[c.clip_id] = view.get(c.clip_id)
                except ClipNotFound:
                    records[c.clip_id] = None
        for row in rows:
            unasked = row.status in (RequestStatus.NO_CLIPS, RequestStatus.NOT_HERE)
            if unasked or row.shown_at is None:
                continue  # never shown to the owner: nothing of theirs was asked for
            decision = book.decision(row.request_id) if book is not None else None
            items.append(_item(call, row, decision, registry, records))
    pending = [i for i in items if i.status == RequestStatus.PENDING]
    past = sorted((i for i in items if i.status != RequestStatus.PENDING),
                  key=lambda i: i.row.received_at, reverse=True)
    return call.render("requests.html", pending=pending, past=past, problem=problem,
                       uplink_on=call.ctx.cfg.uplink.enabled, words=words)


@dataclass(frozen=True)
class Pending:
    """A request awaiting the owner's decision, as the timeline's banner names it."""

    request_id: str
    agency: str
    seconds_left: float


def pending_requests(call: Call) -> list[Pending]:
    """Requests shown to the owner, undecided and unexpired, soonest to expire first."""
    with call.ctx.book() as book:
        rows = book.requests([RequestStatus.PENDING]) if book is not None else []
    rows = [r for r in rows if r.shown_at is not None and r.expires_at > call.now]
    if not rows:
        return []
    try:
        registry: Registry | None = call.ctx.registry(call.now)
    except Unavailable:
        registry = None
    return sorted((Pending(r.request_id, _agency(registry, r)[0], r.expires_at - call.now)
                   for r in rows), key=lambda p: p.seconds_left)


@page
def confirm_share(call: Call) -> Response:
    """What sharing these clips means, before it is done: a page, so it works without
    scripts; its button posts the same clips with confirm=yes."""
    rid = request_id_param(call.request)
    chosen = call.request.query_params.getlist("clip")
    if not chosen:
        raise HTTPException(400, words.SHARE_NO_CLIP)
    try:
        registry: Registry | None = call.ctx.registry(call.now)
    except Unavailable:
        registry = None
    with call.ctx.book() as book, call.ctx.clips() as view:
        row = book.request(rid) if book is not None else None
        if row is None or row.shown_at is None:
            raise UnknownRequest(f"no request {rid} awaits your decision")
        records: dict[str, ClipRecord | None] = {}
        for c in row.clips:
            try:
                records[c.clip_id] = view.get(c.clip_id)
            except ClipNotFound:
                records[c.clip_id] = None
    item = _item(call, row, None, registry, records)
    if item.status != RequestStatus.PENDING:
        raise HTTPException(409, words.SHARE_NOT_PENDING)
    by_id = {c.clip_id: c for c in item.clips}
    wanted = [by_id.get(c) for c in dict.fromkeys(chosen)]
    if any(c is None or not c.present for c in wanted):
        raise HTTPException(409, words.SHARE_CLIP_GONE)
    return call.render("share_confirm.html", r=item, chosen=wanted, words=words)


@action
def share(call: Call) -> Response:
    rid = request_id_param(call.request)
    chosen = call.fields("clip")
    if not chosen:
        raise HTTPException(400, words.SHARE_NO_CLIP)
    if call.field("confirm") != "yes":
        raise HTTPException(400, words.SHARE_UNCONFIRMED)
    with call.ctx.decisions() as desk:
        decision = desk.accept(rid, chosen, call.now, channel=Channel.WEB)
    call.log(AccessKind.SHARED, rid, clips=[c for c, _ in decision.clips])
    return RedirectResponse(f"/requests?done={Done.SHARED}#request-{rid}", status_code=303)


@action
def decline(call: Call) -> Response:
    rid = request_id_param(call.request)
    with call.ctx.decisions() as desk:
        desk.decline(rid, call.now, channel=Channel.WEB)
    call.log(AccessKind.DECLINED, rid)
    return RedirectResponse(f"/requests?done={Done.DECLINED}#request-{rid}", status_code=303)
