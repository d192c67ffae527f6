"""/ : the door's timeline. What happened, today first and newest first, by kind (ring,
person, motion), a day at a time; a pending agency request is a banner above it.

Pages are keyset pages of the clip index (`?before=` / `?after=` a clip), so the first
screen and the thousandth cost the same; `?day=` jumps to the end of a day in the page's
zone (the browser's, once its script said which).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.responses import Response

from device.store import ClipRecord
from device.store.index import Cursor
from device.web import words
from device.web.call import Call, page
from device.web.events import EventKind, filterable, kind_of, parse_kind, store_filter
from device.web.pages.requests import Pending, pending_requests
from device.web.timefmt import relative_day

PAGE = 50  # rows per page: about nine fill a phone's screen
_CURSOR = re.compile(r"(\d{1,12}(?:\.\d{1,20})?)_([0-9A-Za-z-]{1,64})", re.ASCII)


@dataclass(frozen=True)
class Event:
    clip: ClipRecord
    kind: EventKind


@dataclass
class Day:
    date: dt.date
    title: str
    total: int  # events of this kind that day, also those off this page
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class Filters:
    kind: EventKind | None
    day: dt.date | None

    def query(self, **more: str) -> str:
        q = {"kind": self.kind.value if self.kind else "", **more}
        return urlencode({k: v for k, v in q.items() if v})


def cursor_text(rec: ClipRecord) -> str:
    """The clip's place, exactly: repr() of a float reads back as the same float."""
    return f"{rec.start_wall!r}_{rec.id}"


def parse_cursor(raw: str) -> Cursor:
    m = _CURSOR.fullmatch(raw)
    if m is None:
        raise HTTPException(400, words.BAD_CURSOR)
    return float(m.group(1)), m.group(2)


def filters_of(call: Call) -> Filters:
    q = call.request.query_params
    try:
        kind = parse_kind(q.get("kind", ""))
    except ValueError:
        person = ", person" if EventKind.PERSON in filterable() else ""
        raise HTTPException(400, words.BAD_KIND.format(person=person)) from None
    day = None
    if q.get("day"):
        try:
            day = dt.date.fromisoformat(q["day"][:10])
        except ValueError:
            raise HTTPException(400, words.BAD_DAY) from None
        if not 1970 <= day.year < dt.MAXYEAR:  # the day after it, and its midnight, exist
            raise HTTPException(400, words.BAD_DAY_RANGE)
    return Filters(kind, day)


@page
def timeline(call: Call) -> Response:
    f = filters_of(call)
    q = call.request.query_params
    zone = call.zone
    today = zone.local(call.now).date()
    t, lb = store_filter(f.kind)
    before: Cursor | None = parse_cursor(q["before"]) if q.get("before") else None
    after: Cursor | None = parse_cursor(q["after"]) if q.get("after") and not before else None
    if f.day is not None and before is None and after is None:
        before = (zone.midnight(f.day + dt.timedelta(days=1)), "")  # the day's last event
    with call.ctx.clips() as view:
        rows = view.page(PAGE + 1, before=before, after=after, trigger=t, label=lb)
        if after is not None:
            has_newer, rows = len(rows) > PAGE, rows[-PAGE:]
            has_older = bool(rows) and bool(view.page(1, before=_at(rows[-1]), trigger=t, label=lb))
        else:
            has_older, rows = len(rows) > PAGE, rows[:PAGE]
            has_newer = bool(rows) and view.count(newer_than=_at(rows[0]), trigger=t, label=lb) > 0
        days: list[Day] = []
        for rec in rows:
            date = zone.local(rec.start_wall).date()
            if not days or days[-1].date != date:
                start, end = zone.day_bounds(date)
                days.append(Day(date, relative_day(date, today),
                                view.count(trigger=t, label=lb, start=start, end=end)))
            days[-1].events.append(Event(rec, kind_of(rec)))
        anything = bool(rows) or view.count() > 0
    pending: list[Pending] = pending_requests(call)
    newer = f.query(after=cursor_text(rows[0])) if rows and has_newer else None
    older = f.query(before=cursor_text(rows[-1])) if rows and has_older else None
    return call.render(
        "timeline.html", days=days, filters=f, kinds=filterable(), words=words,
        today=today, yesterday=today - dt.timedelta(days=1), newer=newer, older=older,
        anything=anything, pending=pending, now_ts=call.now, kind_links=_kind_links(f),
        banner=words.pending_banner(len(pending), pending[0].agency) if pending else "")


def _kind_links(f: Filters) -> list[tuple[str, str, bool, str]]:
    """(label, href, current, kind) of each filter: the same day, another kind."""
    day = f.day.isoformat() if f.day else ""
    return [(words.KIND_FILTER[k], "/?" + Filters(k, f.day).query(day=day), k == f.kind,
             k.value if k else "all") for k in (None, *filterable())]


def _at(rec: ClipRecord) -> Cursor:
    return rec.start_wall, rec.id
