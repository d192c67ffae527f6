"""Times as the owner reads them: the device's local time with its UTC offset, never epochs."""

from __future__ import annotations

import datetime as dt


def local(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts).astimezone()


def offset(ts: float) -> str:
    """'UTC+01:00' for the device's zone at that moment."""
    off = local(ts).utcoffset() or dt.timedelta(0)
    sign = "-" if off < dt.timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def day(ts: float) -> str:
    """'Tuesday 1 December 2026'."""
    d = local(ts)
    return f"{d:%A} {d.day} {d:%B %Y}"


def clock(ts: float) -> str:
    """'14:05:09'."""
    return f"{local(ts):%H:%M:%S}"


def when(ts: float) -> str:
    """'1 Dec 2026, 14:05 (UTC+01:00)'."""
    d = local(ts)
    return f"{d.day} {d:%b %Y, %H:%M} ({offset(ts)})"


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


def size(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
