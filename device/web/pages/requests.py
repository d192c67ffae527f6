"""/ : agency requests awaiting a decision, and those already decided or expired."""

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
from device.web.words import Done
from uplink.desk.book import Channel, DecisionRow, RequestRow, RequestStatus
from uplink.protocol.registry import Registry


@dataclass(frozen=True)
class ClipItem:
    clip_id: str
    start: float
    end: float
    size: int
    present: bool  # still in the store
    shared: bool


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
    clips = [ClipItem(c.clip_id, c.start_wall, c.end_wall, c.size,
                      records.get(c.clip_id) is not None, c.clip_id in shared)
             for c in row.clips]
    area = None
    pub = row.public
    if isinstance(pub.get("lat"), int | float) and isinstance(pub.get("lon"), int | float):
        area = area_picture(float(pub["lat"]), float(pub["lon"]), float(pub["radius_m"]),
                            call.ctx.cfg.device.latitude, call.ctx.cfg.device.longitude)
    agency, listed = _agency(registry, row)
    return RequestItem(row, agency, listed, status, words.STATUS[status],
                       decision, clips, area, row.expires_at - call.now)


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
                       uplink_on=call.ctx.cfg.uplink.enabled)


@action
def share(call: Call) -> Response:
    rid = request_id_param(call.request)
    chosen = call.fields("clip")
    if not chosen:
        raise HTTPException(400, "Tick at least one clip to share, or decline the request.")
    with call.ctx.decisions() as desk:
        decision = desk.accept(rid, chosen, call.now, channel=Channel.WEB)
    call.log(AccessKind.SHARED, rid, clips=[c for c, _ in decision.clips])
    return RedirectResponse(f"/?done={Done.SHARED}#request-{rid}", status_code=303)


@action
def decline(call: Call) -> Response:
    rid = request_id_param(call.request)
    with call.ctx.decisions() as desk:
        desk.decline(rid, call.now, channel=Channel.WEB)
    call.log(AccessKind.DECLINED, rid)
    return RedirectResponse(f"/?done={Done.DECLINED}#request-{rid}", status_code=303)
