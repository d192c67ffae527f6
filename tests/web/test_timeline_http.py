"""The timeline, the clip page and the share confirmation over HTTP as a browser without
scripts sees them: device time with its offset until the browser names its zone, keyset
pages that visit every event once, kinds, days, and sharing only after confirmation."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from device.store import index
from device.store.files import Layout
from tests.web.helpers import login, post
from tests.web.test_http import access_log, requests_json
from tests.web.world import World

IST = timezone(timedelta(hours=5, minutes=30))
ROW = re.compile(r'<li class="event" id="e-([^"]+)" data-kind="(\w+)">')
TIME = re.compile(r'<time datetime="([^"]+)" data-t="clock">([^<]+)</time>')


def test_every_kind_of_event_has_its_words() -> None:
    from device.web import words
    from device.web.events import EventKind

    assert set(words.KIND) == set(EventKind)
    assert set(words.KIND_FILTER) == {None, *EventKind} == set(words.NO_EVENTS)


def mark_rings(world: World, every: int) -> set[str]:
    """Mark every `every`-th clip as started by the doorbell (as the recorder does); their ids."""
    conn = index.connect(Layout(world.store).index)
    try:
        ids = [r.id for r in index.newest_first(conn, None, None)][::every]
        conn.executemany("UPDATE clips SET trigger = 'ring' WHERE id = ?", [(i,) for i in ids])
    finally:
        conn.close()
    return set(ids)


def walk(s: object, url: str, query: str) -> list[tuple[str, str]]:
    """Follow "Older events" from `query` to the end; every (id, kind) shown, in order."""
    seen: list[tuple[str, str]] = []
    page = s.get(f"{url}/?{query}").text  # type: ignore[attr-defined]
    while True:
        seen += ROW.findall(page)
        older = re.search(r'href="/\?([^"]+)">Older events', page)
        if older is None:
            return seen
        page = s.get(f"{url}/?{older.group(1).replace('&amp;', '&')}").text  # type: ignore[attr-defined]


def test_timeline_pages_kinds_and_days_without_scripts(world: World) -> None:
    from device.web.pages.timeline import PAGE

    total = world.fill_store(2 * PAGE + 7, spacing_s=1800)
    rings = mark_rings(world, 9)
    world.env["TZ"] = "IST-5:30"
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    clips = world.clips()
    ids = [c["id"] for c in clips]
    assert len(ids) == total
    assert walk(s, url, "") == [(i, "ring" if i in rings else "motion") for i in ids]
    assert walk(s, url, "kind=ring") == [(i, "ring") for i in ids if i in rings]
    assert walk(s, url, "kind=motion") == [(i, "motion") for i in ids if i not in rings]

    # No zone from the browser: the device's time, and its offset said once on the page.
    page = s.get(url + "/").text
    first = clips[0]
    stamp, text = TIME.search(page).groups()  # type: ignore[union-attr]
    start = datetime.fromtimestamp(first["start_wall"], IST)
    assert stamp == datetime.fromtimestamp(int(first["start_wall"]), UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert text == start.strftime("%H:%M")
    assert "Times in IST-5:30 (UTC+05:30), the device's zone." in page
    assert 'data-day="' + start.date().isoformat() + '">Today<' in page

    # A browser in New York (its script sets the cookie): the same instants in its zone.
    s.cookies.set("doorcam-tz", "America/New_York")
    page = s.get(url + "/").text
    ny = datetime.fromtimestamp(first["start_wall"], ZoneInfo("America/New_York"))
    assert TIME.search(page).group(2) == ny.strftime("%H:%M")  # type: ignore[union-attr]
    assert 'data-zone="America/New_York"' in page and "Times in America/New_York" in page
    device = s.get(url + "/device").text
    assert "Your browser is in <strong>America/New_York</strong>" in device
    s.cookies.set("doorcam-tz", "Asia/Kolkata")  # the device's zone by its IANA name
    assert "Your browser is in the same zone" in s.get(url + "/device").text
    s.cookies.set("doorcam-tz", "../../etc/passwd")
    assert "the device's zone" in s.get(url + "/").text, "a bad zone is ignored"

    # A day jump in the browser's zone: that day's newest event first.
    s.cookies.set("doorcam-tz", "America/New_York")
    days = sorted({datetime.fromtimestamp(c["start_wall"], ZoneInfo("America/New_York")).date()
                   for c in clips})
    target = days[1]
    page = s.get(f"{url}/?day={target.isoformat()}").text
    expected = next(c["id"] for c in clips if datetime.fromtimestamp(
        c["start_wall"], ZoneInfo("America/New_York")).date() <= target)
    assert ROW.search(page).group(1) == expected  # type: ignore[union-attr]
    assert f'data-day="{target.isoformat()}"' in page and "Newer events" in page
    for bad in ("kind=nothing", "day=2026-13-40", "day=9999-12-31", "day=0001-01-01",
                "before=1.5", "after=%3Cscript%3E"):
        r = s.get(f"{url}/?{bad}")
        assert r.status_code == 400 and "<script>" not in r.text, bad

    # The clip page: the kind, and the newer and older event of the same kind.
    ring_ids = [i for i in ids if i in rings]
    page = s.get(f"{url}/clips/{ring_ids[1]}?kind=ring").text
    assert 'class="kind kind-ring">Ring<' in page
    assert f'href="/clips/{ring_ids[0]}?kind=ring" data-newer' in page
    assert f'href="/clips/{ring_ids[2]}?kind=ring" data-older' in page
    clips_page = s.get(url + "/clips").text
    assert clips_page.count('class="kind kind-ring"') == sum(i in rings for i in ids[:40])


def test_sharing_needs_the_confirmation_and_declining_does_not(world: World) -> None:
    rid = world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    home = s.get(url + "/").text
    assert f'href="/requests#request-{rid}"' in home and "Test Police asks for footage" in home
    matched = [c["id"] for c in requests_json(world)[0]["clips"]]  # type: ignore[index]
    page = s.get(f"{url}/requests/{rid}/share", params={"clip": matched[:2]})
    assert page.status_code == 200
    assert "This cannot be undone." in page.text and "2026-001" in page.text
    assert all(c in page.text for c in matched[:2]) and matched[2] not in page.text
    assert requests_json(world)[0]["status"] == "pending", "showing it decides nothing"
    r = post(s, url, f"/requests/{rid}/share", {"csrf": token, "clip": matched[:2]})
    assert r.status_code == 400 and "confirmation step" in r.text
    assert requests_json(world)[0]["status"] == "pending"
    assert s.get(f"{url}/requests/{rid}/share").status_code == 400
    r = s.get(f"{url}/requests/{rid}/share", params={"clip": "20200101T000000Z-00000000"})
    assert r.status_code == 409
    assert s.get(f"{url}/requests/nope/share", params={"clip": matched[0]}).status_code == 404
    confirm_csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = post(s, url, f"/requests/{rid}/share", {"csrf": confirm_csrf, "clip": matched[:2],
                                               "confirm": "yes"})
    assert r.status_code == 303 and r.headers["location"].startswith("/requests?done=shared")
    assert requests_json(world)[0]["decision"]["clips"] == matched[:2]  # type: ignore[index]
    assert s.get(f"{url}/requests/{rid}/share", params={"clip": matched[0]}).status_code == 409
    assert "asks for footage" not in s.get(url + "/").text, "no banner once decided"

    second = world.import_request()
    r = post(s, url, f"/requests/{second}/decline", {"csrf": token})  # one tap
    assert r.status_code == 303
    kinds = [e["kind"] for e in access_log(world)]
    assert kinds.count("shared") == 1 and kinds.count("declined") == 1


def test_a_request_names_each_clips_kind_and_both_ends_of_its_window(world: World) -> None:
    rid = world.import_request()
    matched = [c["id"] for c in requests_json(world)[0]["clips"]]  # type: ignore[index]
    assert len(matched) >= 2, "the precondition: a request with several clips"
    ring = matched[0]
    conn = index.connect(Layout(world.store).index)
    try:  # the doorbell started this clip (as the recorder marks it)
        conn.execute("UPDATE clips SET trigger = 'ring' WHERE id = ?", (ring,))
    finally:
        conn.close()
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    page = s.get(f"{url}/requests").text
    window = re.search(r"<dt>Footage from</dt><dd>(.*?)</dd>", page)
    assert window is not None
    # Both ends with their day: a window across midnight reads right.
    ends = re.findall(r'data-t="(\w+)">([^<]+)</time>', window.group(1))
    assert [k for k, _ in ends] == ["when", "when"], ends
    assert all(re.match(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d \(UTC", t) for _, t in ends), ends
    labels = dict(re.findall(r'name="clip" value="([^"]+)"[^>]*>\s*<span>\s*'
                             r'<span class="kind kind-(\w+)">', page))
    assert set(labels) == set(matched), "every matched clip says what it is"
    assert labels[ring] == "ring"
    assert all(k == "motion" for c, k in labels.items() if c != ring)
    confirm = s.get(f"{url}/requests/{rid}/share", params={"clip": [ring]}).text
    assert re.search(rf'<span class="kind kind-ring">Ring</span>.*?{ring}', confirm, re.S)
    # Counts in words, not "clip(s)".
    stored = len(world.clips())
    assert stored > 1 and f"<p class=\"muted\">{stored} clips, " in s.get(f"{url}/clips").text
    activity = s.get(f"{url}/activity").text
    assert f"Shown to you with {len(matched)} matching clips;" in activity
    assert "(s)" not in activity and "(ies)" not in activity
    token = re.search(r'name="csrf" value="([^"]+)"', confirm).group(1)  # type: ignore[union-attr]
    r = post(s, url, f"/requests/{rid}/share", {"csrf": token, "clip": [ring], "confirm": "yes"})
    assert r.status_code == 303
    assert f"Shared 1 of {len(matched)} clips:" in s.get(f"{url}/requests").text
    assert "shared 1 clip with request" in s.get(f"{url}/activity").text


def test_the_share_confirmation_restates_the_agencys_terms(world: World) -> None:
    bound = world.import_request(terms={"retention_days": 30, "no_onward_sharing": False})
    unbound = world.import_request()
    clips = {r["request_id"]: [c["id"] for c in r["clips"]]  # type: ignore[index]
             for r in requests_json(world)}
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    for rid, said in ((bound, "Keeps the footage at most 30 days; <strong>may share it "
                              "onward</strong>."),
                      (unbound, "None stated: nothing limits how long it keeps the footage")):
        assert clips[rid], "the precondition: the request matched clips"
        page = s.get(f"{url}/requests/{rid}/share", params={"clip": clips[rid][:1]})
        assert page.status_code == 200 and "This cannot be undone." in page.text
        assert "<dt>Agency's terms</dt>" in page.text and said in page.text, rid


def test_the_share_confirmation_says_when_only_part_of_a_clip_is_sent(world: World) -> None:
    """A clip reaching before the request's window is cut (from the keyframe before the
    window's start): the confirmation says so, with the times, where the owner decides."""
    from uplink.protocol.fields import format_time

    clips = sorted(world.clips(), key=lambda c: c["start_wall"])
    first = clips[0]
    # The simulation ran faster than real time, so its clips span under a second of wall
    # clock: this one is set to 10 s twenty minutes ago, and a request's window (at least
    # 15 minutes, ended, in whole seconds) starts in its middle.
    middle = math.floor(time.time()) - 1200
    first["start_wall"], first["end_wall"] = middle - 5.0, middle + 5.0
    conn = index.connect(Layout(world.store).index)
    try:
        conn.execute("UPDATE clips SET start_wall = ?, end_wall = ? WHERE id = ?",
                     (first["start_wall"], first["end_wall"], first["id"]))
        conn.commit()
    finally:
        conn.close()
    late = world.import_request(window={"start": format_time(middle),
                                        "end": format_time(middle + 900)})
    whole = world.import_request(window={"start": format_time(middle - 60),
                                         "end": format_time(middle + 900)})  # all of it
    matched = {r["request_id"]: [c["id"] for c in r["clips"]]  # type: ignore[index]
               for r in requests_json(world)}
    assert first["id"] in matched[late] and first["id"] in matched[whole]
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    cut = s.get(f"{url}/requests/{late}/share", params={"clip": [first["id"]]}).text
    said = re.search(r"<span class=\"small\" data-cut>(.*?)</span>", cut, re.S)
    assert said is not None and "from the keyframe just before" in said.group(1)
    times = re.findall(r'<time datetime="([^"]+)"', said.group(1))
    assert len(times) == 2, said.group(1)  # from the window's start to the clip's end
    assert abs(datetime.fromisoformat(times[0]).timestamp() - middle) < 1, times
    assert abs(datetime.fromisoformat(times[1]).timestamp() - first["end_wall"]) < 1, times
    kept = s.get(f"{url}/requests/{whole}/share", params={"clip": [first["id"]]}).text
    assert "data-cut" not in kept
