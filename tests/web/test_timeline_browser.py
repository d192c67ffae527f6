"""The door's timeline in Chromium at 390x844, from a real daemon run: the capture and
doorbell sides (gpiozero's mock pins) on the synthetic porch store motion clips and a clip a
press marked "ring"; the web app runs in one zone, the browser (Chromium's timezone override)
in another. Filters, the day jump, playing in place with next/previous, the share
confirmation, and every time in the browser's zone."""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from config import CaptureConfig, Config, RecordingConfig, StoreConfig
from config.doorbell import DoorbellConfig
from device.daemon.notify import Notifier
from device.daemon.supervisor import Supervisor, build_sides
from device.store import StoreError
from device.store.view import ClipView
from tests.support import wait_until
from tests.web.test_browser import browser, console_errors, log_in, request_rows, shot, wait_for
from tests.web.world import World

__all__ = ["browser"]  # the fixture, shared with the other browser tests

BROWSER_ZONE = "America/New_York"
DEVICE_TZ = "IST-5:30"  # the web process's zone: POSIX, 5 h 30 min east of UTC
NY = ZoneInfo(BROWSER_ZONE)
IST = timezone(timedelta(hours=5, minutes=30))



def daemon_clips(world: World, pins: Any) -> list[Any]:
    """Run the daemon's sides on the looping porch until it stored motion clips and, after a
    doorbell press, a ring clip; the store's records, newest first."""
    for name in ("clips", "thumbs"):
        shutil.rmtree(world.store / name)
    for path in world.store.glob("index.sqlite3*"):
        path.unlink()
    cfg = Config(
        capture=CaptureConfig(source="synthetic:porch?seconds=20&fps=10&size=320x240",
                              loop=True),
        recording=RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5,
                                  keyframe_interval_seconds=0.5, preset="ultrafast"),
        store=StoreConfig(path=str(world.store)),
        doorbell=DoorbellConfig(enabled=True, pin=17, record_seconds=1.0))

    def records() -> list[Any]:
        try:
            with ClipView(world.store) as view:
                return view.list()
        except StoreError:  # the daemon is still making the index
            return []

    stop, reload = threading.Event(), threading.Event()
    with contextlib.ExitStack() as stack:
        sides = build_sides(cfg, capture=True, pace=4.0, stack=stack)
        supervisor = Supervisor(sides, Notifier())
        supervisor.start(stack)
        _, doorbell = sides
        wait_until(lambda: doorbell._button is not None, 10,  # type: ignore[attr-defined]
                   "the doorbell's pins")
        wait_until(lambda: len(records()) >= 2, 120, "motion clips from the porch")
        assert {r.trigger for r in records()} == {"motion"}, "no ring before the press"
        pins.pin(17).drive_low()
        pins.pin(17).drive_high()
        wait_until(lambda: any(r.trigger == "ring" for r in records()), 60, "the ring's clip")
        wait_until(lambda: records()[0].trigger == "motion" or len(records()) >= 4, 60,
                   "another clip after the ring")
        stop.set()
        assert supervisor.run(stop, reload) is False
    return records()


def ny(ts: float, fmt: str = "%H:%M") -> str:
    return datetime.fromtimestamp(ts, NY).strftime(fmt)


def rows(driver: Any) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "li.event")


def test_the_timeline_shows_rings_and_motion_in_the_browsers_zone(
        make_world: Callable[..., World], browser: Any, pins: Any) -> None:
    from selenium.webdriver.common.by import By

    world = make_world()
    clips = daemon_clips(world, pins)
    rings = [c for c in clips if c.trigger == "ring"]
    motion = [c for c in clips if c.trigger == "motion"]
    assert rings and motion
    older = world.fill_store(len(clips) + 40, spacing_s=3 * 3600)  # five days back
    with ClipView(world.store) as view:
        everything = view.list()
    assert len(everything) == older
    world.env["TZ"] = DEVICE_TZ
    world.add_user()
    url = world.start()
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})
    assert browser.execute_script(
        "return Intl.DateTimeFormat().resolvedOptions().timeZone") == BROWSER_ZONE
    log_in(browser, url)
    wait_for(lambda: browser.current_url.rstrip("/") == url, "the timeline")
    wait_for(lambda: browser.execute_script("return document.documentElement.dataset.zone")
             == BROWSER_ZONE, "the page rendered in the browser's zone")

    # Newest first, each row's kind and its time in New York (the device is on IST).
    shown = rows(browser)
    newest = everything[:len(shown)]
    for li, rec in zip(shown, newest, strict=True):
        assert li.get_attribute("id") == f"e-{rec.id}"
        assert li.get_attribute("data-kind") == rec.trigger
        assert li.find_element(By.CSS_SELECTOR, "time").text == ny(rec.start_wall)
    assert "America/New_York" in browser.find_element(By.CSS_SELECTOR, "[data-zone-note]").text
    today = datetime.now(NY).date()
    first_day = browser.find_element(By.CSS_SELECTOR, "[data-day]")
    assert first_day.get_attribute("data-day") == today.isoformat()
    assert first_day.text == "Today"
    ring_row = browser.find_element(By.ID, f"e-{rings[0].id}")
    assert "Ring" in ring_row.text
    shot(browser, "home")
    # A phone screen holds at least six events.
    visible = browser.execute_script(
        "return [...document.querySelectorAll('li.event')].filter("
        "(e) => e.getBoundingClientRect().bottom <= window.innerHeight).length")
    assert visible >= 6, visible
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390

    # Tap to play in place; the player steps to the older event.
    first = rows(browser)[0]
    first.find_element(By.CSS_SELECTOR, "a.row").click()
    video = first.find_element(By.CSS_SELECTOR, ".player video")
    browser.execute_script("arguments[0].muted = true; arguments[0].play();", video)
    wait_for(lambda: browser.execute_script("return arguments[0].currentTime", video) > 0.2,
             "the clip to play in place")
    assert browser.current_url.rstrip("/") == url, "played without leaving the timeline"
    first.find_element(By.CSS_SELECTOR, "[data-older]").click()
    second = rows(browser)[1]
    assert "playing" in second.get_attribute("class")
    assert second.find_elements(By.CSS_SELECTOR, ".player video")
    assert not first.find_elements(By.CSS_SELECTOR, ".player")
    shot(browser, "home-playing")

    # Filters: rings only, then motion only.
    browser.find_element(By.CSS_SELECTOR, "nav.filters a.chip-ring").click()
    wait_for(lambda: "kind=ring" in browser.current_url, "the ring filter")
    assert [li.get_attribute("id") for li in rows(browser)] == [f"e-{r.id}" for r in rings]
    browser.find_element(By.CSS_SELECTOR, "nav.filters a.chip-motion").click()
    wait_for(lambda: "kind=motion" in browser.current_url, "the motion filter")
    kinds = {li.get_attribute("data-kind") for li in rows(browser)}
    assert kinds == {"motion"}

    # Jump to a day: three days ago, in New York's calendar.
    target = sorted({datetime.fromtimestamp(r.start_wall, NY).date() for r in everything})[1]
    browser.execute_script(
        "const i = document.querySelector('[data-jump]'); i.value = arguments[0];"
        "i.dispatchEvent(new Event('change'));", target.isoformat())
    wait_for(lambda: f"day={target.isoformat()}" in browser.current_url, "the day jump")
    heads = browser.find_elements(By.CSS_SELECTOR, "[data-day]")
    assert heads[0].get_attribute("data-day") == target.isoformat()
    expected = [r for r in everything if r.trigger == "motion"
                and datetime.fromtimestamp(r.start_wall, NY).date() <= target]
    assert rows(browser)[0].get_attribute("id") == f"e-{expected[0].id}"
    assert console_errors(browser) == []

    # Without the zone cookie the device renders its own zone (IST); the page's script
    # restates each time in New York's and sets the cookie again.
    browser.delete_cookie("doorcam-tz")
    browser.get(f"{url}/clips/{rings[0].id}")
    assert browser.execute_script("return document.documentElement.dataset.zone") == ""
    stamp = browser.find_element(By.CSS_SELECTOR, "h1 time[data-t=seconds]")
    wait_for(lambda: stamp.text == ny(rings[0].start_wall, "%H:%M:%S"), "the restated time")
    assert ny(rings[0].start_wall, "%H:%M:%S") != datetime.fromtimestamp(
        rings[0].start_wall, IST).strftime("%H:%M:%S")
    assert browser.get_cookie("doorcam-tz")["value"] == BROWSER_ZONE
    shot(browser, "clip")

    # The device page names the device's zone and says the browser's differs.
    browser.get(url + "/device")
    clock = browser.find_element(By.ID, "clock").text
    assert DEVICE_TZ in clock and "UTC+05:30" in clock
    assert "Your browser is in America/New_York" in clock


def test_sharing_asks_for_confirmation_naming_agency_case_and_clips(
        world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    rid = world.import_request()
    world.add_user()
    url = world.start()
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})
    log_in(browser, url)
    wait_for(lambda: browser.current_url.rstrip("/") == url, "the timeline")
    banner = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "a.banner"), "the banner")
    assert "Test Police" in banner[0].text and "decision" in banner[0].text
    banner[0].click()
    wait_for(lambda: "/requests" in browser.current_url, "the requests page")
    matched = request_rows(world)[rid]["clips"]
    chosen = matched[1]
    card = browser.find_element(By.ID, f"request-{rid}")
    box = card.find_element(By.CSS_SELECTOR, f"input[value='{chosen['id']}']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
    box.click()
    button = card.find_element(By.CSS_SELECTOR, "[data-share-button]")
    assert button.text == "Review sharing 1 clip with this agency"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    wait_for(lambda: "/share?" in browser.current_url, "the confirmation page")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Test Police" in page and "2026-001" in page
    assert "This cannot be undone." in page
    assert ny(chosen["start"], "%H:%M") in page and chosen["id"] in page
    assert all(c["id"] not in page for c in matched if c["id"] != chosen["id"])
    assert request_rows(world)[rid]["status"] == "pending", "nothing decided yet"
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "share-confirm")
    go = browser.find_element(By.CSS_SELECTOR, "[data-confirm-share]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", go)
    go.click()
    wait_for(lambda: "done=shared" in browser.current_url, "the share to be recorded")
    assert request_rows(world)[rid]["decision"]["clips"] == [chosen["id"]]
    assert console_errors(browser) == []
