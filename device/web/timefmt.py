"""Times as the owner reads them: in the zone of the page (the browser's, or the device's
with its UTC offset), never epochs. Each `<time>` carries the instant in UTC (ISO 8601) and
its format, so the page's script can restate it in the browser's zone (static/app.js
formats the same kinds the same way)."""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape

from device.web.zones import Zone, device_zone

FORMATS = ("clock", "seconds", "when", "day")


def _zone(zone: Zone | None) -> Zone:
    return zone if zone is not None else device_zone()


def local(ts: float, zone: Zone | None = None) -> dt.datetime:
    return _zone(zone).local(ts)


def offset(ts: float, zone: Zone | None = None) -> str:
    """'UTC+01:00' for the zone at that moment."""
    return _zone(zone).offset(ts)


def day(ts: float, zone: Zone | None = None) -> str:
    """'Tuesday 1 December 2026'."""
    d = local(ts, zone)
    return f"{d:%A} {d.day} {d:%B %Y}"


def clock(ts: float, zone: Zone | None = None) -> str:
    """'14:05:09'."""
    return f"{local(ts, zone):%H:%M:%S}"


def short(ts: float, zone: Zone | None = None) -> str:
    """'14:05'."""
    return f"{local(ts, zone):%H:%M}"


def when(ts: float, zone: Zone | None = None) -> str:
    """'1 Dec 2026, 14:05 (UTC+01:00)'."""
    d = local(ts, zone)
    return f"{d.day} {d:%b %Y, %H:%M} ({offset(ts, zone)})"


def iso_utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_TEXT = {"clock": short, "seconds": clock, "when": when, "day": day}


def time_tag(ts: float, kind: str, zone: Zone | None = None) -> Markup:
    """`<time datetime="…Z" data-t="clock">14:05</time>`: the text in the page's zone."""
    text = _TEXT[kind](ts, zone)
    return Markup(f'<time datetime="{iso_utc(ts)}" data-t="{kind}">{escape(text)}</time>')


def relative_day(d: dt.date, today: dt.date) -> str:
    """'Today', 'Yesterday', else 'Tuesday 1 December' (with the year when not this one)."""
    if d == today:
        return "Today"
    if d == today - dt.timedelta(days=1):
        return "Yesterday"
    text = f"{d:%A} {d.day} {d:%B}"
    return text if d.year == today.year else f"{text} {d.year}"


def span(seconds: float) -> str:
    """A duration in words: '2 days 3 h', '5 min', '40 s'."""
    s = int(max(0, seconds))
    if s >= 86400:
        return f"{s // 86400} day{'s' if s >= 172800 else ''} {s % 86400 // 3600} h"
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    if s >= 60:
        return f"{s // 60} min"
    return f"{s} s"


def length(seconds: float) -> str:
    """A clip's length: '0:42', '3:05'."""
    s = round(max(0.0, seconds))
    return f"{s // 60}:{s % 60:02d}"


def size(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
