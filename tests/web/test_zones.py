"""Whose clock a page reads: the browser's zone from its cookie (only a real IANA zone), else
the device's; day bounds across a DST change; "Today", "Yesterday", then dates."""

from __future__ import annotations

import datetime as dt

import pytest

from device.web import timefmt
from device.web.zones import COOKIE, parse_name, zone_of

NY = "America/New_York"


@pytest.mark.parametrize("raw", ["", "Mars/Olympus", "../../etc/passwd", "/etc/localtime",
                                 "America/New_York\x00", "A" * 80, "America/../Europe/Paris"])
def test_a_cookie_that_is_not_a_zone_falls_back_to_the_device(raw: str) -> None:
    assert parse_name(raw) is None
    zone = zone_of({COOKIE: raw})
    assert zone.tz is None and not zone.browser


def test_the_browsers_zone_sets_times_offsets_and_day_bounds() -> None:
    zone = zone_of({COOKIE: NY})
    assert zone.browser and zone.name == NY
    start, end = zone.day_bounds(dt.date(2026, 11, 1))  # DST ends: a 25-hour day
    assert end - start == 25 * 3600
    assert zone.local(start).hour == 0 and zone.offset(start) == "UTC-04:00"
    assert zone.offset(end) == "UTC-05:00"
    ts = dt.datetime(2026, 12, 6, 20, 5, 9, tzinfo=dt.UTC).timestamp()
    assert timefmt.short(ts, zone) == "15:05" and timefmt.clock(ts, zone) == "15:05:09"
    assert timefmt.when(ts, zone) == "6 Dec 2026, 15:05 (UTC-05:00)"
    assert timefmt.day(ts, zone) == "Sunday 6 December 2026"
    tag = timefmt.time_tag(ts, "clock", zone)
    assert tag == '<time datetime="2026-12-06T20:05:09Z" data-t="clock">15:05</time>'


def test_the_device_zone_follows_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    try:
        zone = zone_of({})
        assert zone.name == "IST-5:30" and zone.offset(0) == "UTC+05:30"
        assert zone.midnight(dt.date(1970, 1, 2)) == 86400 - 5.5 * 3600
    finally:
        monkeypatch.undo()
        time.tzset()


def test_days_are_named_today_yesterday_then_dates() -> None:
    today = dt.date(2026, 12, 6)
    assert timefmt.relative_day(today, today) == "Today"
    assert timefmt.relative_day(dt.date(2026, 12, 5), today) == "Yesterday"
    assert timefmt.relative_day(dt.date(2026, 12, 1), today) == "Tuesday 1 December"
    assert timefmt.relative_day(dt.date(2025, 12, 31), today) == "Wednesday 31 December 2025"
    assert timefmt.length(61.6) == "1:02" and timefmt.length(4.4) == "0:04"


def test_two_names_for_one_clock_keep_time_and_a_dst_rule_does_not() -> None:
    now = dt.datetime(2026, 12, 6, tzinfo=dt.UTC).timestamp()
    utc, etc = zone_of({COOKIE: "UTC"}), zone_of({COOKIE: "Etc/UTC"})
    paris, berlin = zone_of({COOKIE: "Europe/Paris"}), zone_of({COOKIE: "Europe/Berlin"})
    ny, bogota = zone_of({COOKIE: NY}), zone_of({COOKIE: "America/Bogota"})
    assert utc.keeps_time_with(etc, now) and paris.keeps_time_with(berlin, now)
    assert ny.offset(now) == bogota.offset(now), "the same time today ..."
    assert not ny.keeps_time_with(bogota, now), "... but New York keeps summer time"
    assert not utc.keeps_time_with(paris, now)
