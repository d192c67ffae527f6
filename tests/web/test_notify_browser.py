"""Notifications in a real browser (Debian's headless chromium, as tests/web/test_browser.py
drives it): the Notifications page's forms and its "until tomorrow" in the browser's own
time zone, and the service worker's handling of a real push event.

Chromium's DevTools protocol fires a real `push` event in the registered worker
(`ServiceWorker.deliverPushMessage`, what DevTools' "Push" button does), so the worker's own
code fetches the picture with the login and shows the notification, which the page then reads
with `registration.getNotifications()`. Nothing in headless Chromium can click a shown
notification (there is no DevTools command for it, and a synthetic `notificationclick` is
untrusted, so `clients.openWindow` refuses it): the page to open is checked with the worker's
own `targetOf` on the real notification's data and actions, and the page it names is loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from tests.web.push.pushservice import PushService
from tests.web.test_browser import browser, console_errors, log_in, shot, wait_for  # noqa: F401
from tests.web.test_push_app import push_on
from tests.web.world import World

ZONE = "Pacific/Auckland"  # far from the machine's UTC: the browser's midnight is not the device's


def _snooze_until(world: World, account: str) -> float | None:
    db = sqlite3.connect(world.store / "web" / "push.sqlite3")
    try:
        row = db.execute("SELECT snooze_until FROM preferences WHERE account = ?",
                         (account,)).fetchone()
    finally:
        db.close()
    return None if row is None else row[0]


def test_the_notifications_page_in_a_browser(make_world: Callable[..., World],
                                             browser: Any) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    service = PushService().start()
    try:
        world = make_world(web=push_on(service))
        world.add_user()
        url = world.start()
        browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ZONE})
        log_in(browser, url)
        browser.get(url + "/device")
        browser.find_element(By.CSS_SELECTOR, 'a[href="/notifications"]').click()
        wait_for(lambda: browser.current_url == url + "/notifications", "the settings page")
        boxes = {b.get_attribute("value"): b
                 for b in browser.find_elements(By.CSS_SELECTOR, "input[name=kind]")}
        assert {k: b.is_selected() for k, b in boxes.items()} == {
            "ring": True, "request": True, "person": True, "motion": False}
        boxes["motion"].click()
        boxes["person"].click()
        browser.find_element(By.CSS_SELECTOR, "[data-kinds] button[type=submit]").click()
        wait_for(lambda: "done=notify_saved" in browser.current_url, "the saved page")
        assert "Saved: these kinds notify your browsers" in browser.page_source
        chosen = [b.get_attribute("value") for b in
                  browser.find_elements(By.CSS_SELECTOR, "input[name=kind]") if b.is_selected()]
        assert chosen == ["ring", "request", "motion"]

        browser.find_element(By.CSS_SELECTOR, "[data-snooze=tomorrow]").click()
        wait_for(lambda: "done=snoozed_tomorrow" in browser.current_url, "the snoozed page")
        banner = browser.find_element(By.CSS_SELECTOR, "[data-snoozed]")
        assert "Notifications are snoozed until" in banner.text
        until = _snooze_until(world, "alex")
        assert until is not None
        local = dt.datetime.fromtimestamp(until, ZoneInfo(ZONE))
        now = dt.datetime.now(ZoneInfo(ZONE))
        assert (local.hour, local.minute, local.second) == (0, 0, 0), local
        assert local.date() == (now + dt.timedelta(days=1)).date(), (local, now)
        shown = banner.find_element(By.CSS_SELECTOR, "time").text
        assert "00:00" in shown or "12:00" in shown, shown  # the browser's own midnight
        shot(browser, "notifications")
        browser.find_element(By.CSS_SELECTOR, "[data-unsnooze]").click()
        wait_for(lambda: "done=snooze_ended" in browser.current_url, "the unsnoozed page")
        assert not browser.find_elements(By.CSS_SELECTOR, "[data-snoozed]")
        assert _snooze_until(world, "alex") is None
        assert console_errors(browser) == []
    finally:
        service.stop()


SHOWN = """
const done = arguments[arguments.length - 1];
navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) => done(
  list.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                    image: n.image, actions: n.actions.map((a) => a.action + ':' + a.title)}))
), (e) => done(`${e}`));
"""


def _deliver(driver: Any, url: str, message: dict[str, Any]) -> None:
    from selenium.common.exceptions import WebDriverException

    driver.execute_cdp_cmd("ServiceWorker.enable", {})
    params = {"origin": url + "/", "registrationId": _registration_id(driver),
              "data": json.dumps(message)}
    def delivered() -> bool:
        # DevTools learns of the registration asynchronously after `enable`: until then it
        # answers that there is no such registration.
        try:
            driver.execute_cdp_cmd("ServiceWorker.deliverPushMessage", params)
        except WebDriverException:
            return False
        return True

    wait_for(delivered, "DevTools delivering the push to the registered worker")


def _push_until_shown(driver: Any, url: str, message: dict[str, Any], count: int
                      ) -> list[dict[str, Any]]:
    """Deliver `message` until `count` notifications show. Under load DevTools now and then
    accepts a push for the active worker and never fires it (a second delivery of the same
    message then shows at once); a repeat of a tagged push replaces its notification."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _deliver(driver, url, message)
        try:
            shown = wait_for(lambda: len(driver.execute_async_script(SHOWN)) >= count
                             and driver.execute_async_script(SHOWN), "the notification", 6)
        except AssertionError:
            continue
        return list(shown)
    raise AssertionError(f"no notification for {message['tag']} after repeated pushes")


def _worker_ready(make_world: Callable[..., World], driver: Any, service: PushService
                  ) -> tuple[World, str, str]:
    """A logged-in browser allowed to notify, with the device's worker registered: the
    world, its URL and a clip's id."""
    world = make_world(web=push_on(service))
    world.add_user()
    url = world.start()
    clip = world.clips()[0]["id"]
    log_in(driver, url)
    driver.execute_cdp_cmd("Browser.grantPermissions",
                           {"origin": url, "permissions": ["notifications"]})
    driver.get(url + "/device")
    scope = driver.execute_async_script(
        "navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker"
        ".ready).then((r) => arguments[0](r.scope), (e) => arguments[0](`${e}`))")
    assert scope == url + "/", scope
    return world, url, clip


def _registration_id(driver: Any) -> str:
    # The first registration of a fresh profile; DevTools names it in its worker events,
    # which Selenium does not pass on, so check that exactly one worker is registered.
    count = driver.execute_async_script(
        "navigator.serviceWorker.getRegistrations().then((r) => arguments[0](r.length))")
    assert count == 1
    return "0"


def test_the_service_worker_shows_a_push_with_its_picture_and_actions(
        make_world: Callable[..., World], browser: Any) -> None:  # noqa: F811
    service = PushService().start()
    try:
        _, url, clip = _worker_ready(make_world, browser, service)
        # The ring push as the device sends it (message.py), with a picture path that exists
        # before the live view does: a clip's thumbnail, behind the same login.
        ring = {"title": "doorcam", "body": "Someone rang the doorbell", "url": "/live",
                "tag": "ring", "kind": "ring", "image": f"/clips/{clip}/thumb",
                "actions": [{"action": "live", "title": "Live", "url": "/live"}]}
        shown = _push_until_shown(browser, url, ring, 1)
        [n] = shown
        assert (n["title"], n["body"], n["tag"]) == ("doorcam", "Someone rang the doorbell",
                                                     "ring")
        assert n["actions"] == ["live:Live"]
        assert n["image"].startswith("data:image/jpeg;base64,"), n["image"][:60]
        assert n["data"] == {"url": "/live", "actions": {"live": "/live"}}

        request = {"title": "doorcam", "body": "New request from Test Police",
                   "url": "/#request-r1", "tag": "request-r1", "kind": "request",
                   "image": "/live/nothing-here.jpg",
                   "actions": [{"action": "requests", "title": "Requests",
                                "url": "/#request-r1"},
                               {"action": "live", "title": "Live", "url": "/live"},
                               {"action": "x", "title": "A third is dropped", "url": "/"}]}
        shown = _push_until_shown(browser, url, request, 2)
        assert len(shown) == 2, shown
        n = next(x for x in shown if x["tag"] == "request-r1")
        assert n["actions"] == ["requests:Requests", "live:Live"]
        assert n["image"] == "", "no picture (404): the notification still shows"

        # Where a tap goes: the worker's own targetOf, loaded in the page (sw.js outside a
        # worker only defines its functions), on the real notifications' data.
        browser.execute_script("self.importScripts = () => {};")
        browser.execute_async_script(
            "const s = document.createElement('script'); s.src = '/sw.js';"
            "s.onload = () => arguments[0](true); document.head.appendChild(s);")
        targets = browser.execute_async_script("""
            const done = arguments[0];
            navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) => {
              const out = {};
              for (const n of list) {
                for (const action of ['', 'live', 'requests', 'nope']) {
                  out[`${n.tag}/${action}`] = self.doorcamNotify.targetOf(n, action);
                }
              }
              done(out);
            });""")
        assert targets == {
            "ring/": url + "/live", "ring/live": url + "/live",
            "ring/requests": url + "/live", "ring/nope": url + "/live",
            "request-r1/": url + "/#request-r1", "request-r1/live": url + "/live",
            "request-r1/requests": url + "/#request-r1", "request-r1/nope": url + "/#request-r1",
        }
        evil = browser.execute_script(
            "return [self.doorcamNotify.targetOf({data: {url: '//evil.example/x'}}, ''),"
            " self.doorcamNotify.targetOf({data: {url: '/', actions: {live: 'https://evil."
            "example/'}}}, 'live')];")
        assert evil == [url + "/", url + "/"], "only same-origin paths are opened"
        for target in (targets["ring/"], targets["request-r1/requests"]):
            browser.get(target)  # the pages a tap opens exist and load
            wait_for(lambda t=target: browser.current_url == t, f"{target}")
        assert console_errors(browser) == []
    finally:
        service.stop()


def test_a_push_shows_at_once_without_its_picture_when_the_device_does_not_answer(
        make_world: Callable[..., World], browser: Any) -> None:  # noqa: F811
    """Away from home a phone may not reach the device at all: the worker waits for the
    picture a few seconds, then shows the ring without it. The device's web app is frozen
    (SIGSTOP) before the push, so the picture's request is accepted and never answered."""
    import signal

    service = PushService().start()
    try:
        world, url, clip = _worker_ready(make_world, browser, service)
        assert world.server is not None
        world.server.send_signal(signal.SIGSTOP)
        try:
            ring = {"title": "doorcam", "body": "Someone rang the doorbell", "url": "/live",
                    "tag": "ring", "kind": "ring", "image": f"/clips/{clip}/thumb"}
            pushed = time.monotonic()
            shown = _push_until_shown(browser, url, ring, 1)
            waited = time.monotonic() - pushed
        finally:
            world.server.send_signal(signal.SIGCONT)
        [n] = shown
        assert (n["tag"], n["body"]) == ("ring", "Someone rang the doorbell")
        assert n["image"] == "", "the picture never came: shown without it"
        assert waited < 15, waited  # the worker gave up on the picture (3 s), not the browser
    finally:
        service.stop()
