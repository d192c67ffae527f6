"""Whose clock the pages read: the browser's time zone when the page's script has told us
(a cookie holding its IANA name), else the device's own zone, always with its UTC offset.

The cookie is only a display preference: a name that is not a known zone is ignored.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COOKIE = "doorcam-tz"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}", re.ASCII)


@dataclass(frozen=True)
class Zone:
    """A zone pages render times in. `tz` None is the device's own zone (the C library's
    local time, DST included), named as well as the system allows."""

    name: str
    tz: ZoneInfo | None
    browser: bool  # the browser said this is its zone

    def local(self, ts: float) -> dt.datetime:
        if self.tz is None:
            return dt.datetime.fromtimestamp(ts).astimezone()
        return dt.datetime.fromtimestamp(ts, self.tz)

    def midnight(self, day: dt.date) -> float:
        """The epoch at which `day` starts here."""
        start = dt.datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return start.timestamp()  # naive: the C library's local time

    def day_bounds(self, day: dt.date) -> tuple[float, float]:
        return self.midnight(day), self.midnight(day + dt.timedelta(days=1))

    def offset(self, ts: float) -> str:
        """'UTC+01:00' for this zone at that moment."""
        off = self.local(ts).utcoffset() or dt.timedelta(0)
        sign = "-" if off < dt.timedelta(0) else "+"
        minutes = abs(int(off.total_seconds())) // 60
        return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"

    def keeps_time_with(self, other: Zone, now: float) -> bool:
        """Whether both show the same local time every day of the coming year: another name
        for one zone (UTC and Etc/UTC, IST-5:30 and Asia/Kolkata) or two under one rule."""
        return all(self.offset(now + day * 86400) == other.offset(now + day * 86400)
                   for day in range(366))


def device_zone_name() -> str:
    """The device's zone as the system names it: $TZ, /etc/localtime's target, or
    /etc/timezone; else its abbreviation."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        return tz
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    try:
        name = Path("/etc/timezone").read_text(encoding="utf-8").strip()
        if name:
            return name
    except OSError:
        pass
    return dt.datetime.now().astimezone().tzname() or "UTC"


def device_zone() -> Zone:
    return Zone(device_zone_name(), None, browser=False)


def parse_name(raw: str | None) -> ZoneInfo | None:
    """The zone a browser named, None for anything that is not a known IANA zone."""
    if not raw or len(raw) > 64 or not _NAME.fullmatch(raw):
        return None
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_of(cookies: dict[str, str]) -> Zone:
    """The browser's zone from its cookie, else the device's."""
    raw = cookies.get(COOKIE)
    tz = parse_name(raw)
    if tz is None or raw is None:
        return device_zone()
    return Zone(raw, tz, browser=True)
