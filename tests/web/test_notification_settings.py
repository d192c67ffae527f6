"""The Notifications page over HTTP against the running app: per-account kinds and snooze,
posted like every form (origin, login, CSRF), and what the push thread then sends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from tests.web.helpers import login, post
from tests.web.push.pushservice import PushService
from tests.web.test_push_app import post_json, push_on
from tests.web.world import World

CHECKED = re.compile(r'name="kind" value="(\w+)" checked')



def test_kinds_and_snooze_are_per_account_and_checked_like_every_form(
        make_world: Callable[..., World], push_service: PushService) -> None:
    world = make_world(web=push_on(push_service))
    world.add_user()
    world.add_user("sam")
    url = world.start()
    alex, sam = world.session(), world.session()
    token = login(alex, url)
    sam_token = login(sam, url, "sam")

    page = alex.get(url + "/notifications")
    assert page.status_code == 200
    assert CHECKED.findall(page.text) == ["ring", "request", "person"], "motion off"
    assert "data-snoozed" not in page.text
    assert '<script src="/push/settings.js" defer></script>' in page.text
    assert alex.get(url + "/push/settings.js").headers["content-type"].startswith(
        "text/javascript")
    assert 'href="/notifications"' in alex.get(url + "/device").text

    r = post(alex, url, "/notifications", {"csrf": token, "kind": ["ring", "motion"]})
    assert r.status_code == 303 and r.headers["location"] == "/notifications?done=notify_saved"
    page = alex.get(url + "/notifications?done=notify_saved")
    assert CHECKED.findall(page.text) == ["ring", "motion"]
    assert "Saved: these kinds notify your browsers" in page.text
    assert CHECKED.findall(sam.get(url + "/notifications").text) == ["ring", "request",
                                                                     "person"]
    r = post(alex, url, "/notifications", {"csrf": token, "kind": ["ring", "bogus"]})
    assert r.status_code == 400 and "not a kind of notification: bogus" in r.text
    r = post(alex, url, "/notifications", {"csrf": "forged", "kind": "motion"})
    assert r.status_code == 403
    r = post(alex, url, "/notifications", {"csrf": token, "kind": "motion"},
             origin="https://evil.example")
    assert r.status_code == 403
    r = post(world.session(), url, "/notifications", {"csrf": token, "kind": "motion"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert CHECKED.findall(alex.get(url + "/notifications").text) == ["ring", "motion"]

    r = post(alex, url, "/notifications/snooze", {"csrf": token, "for": "hour"})
    assert r.status_code == 303
    page = alex.get(url + "/notifications").text
    assert "data-snoozed" in page and "Notifications are snoozed until" in page
    assert "data-unsnooze" in page
    assert "data-snoozed" not in sam.get(url + "/notifications").text
    assert "data-snoozed" in alex.get(url + "/device").text, "the Device page says so too"
    assert "data-snoozed" not in sam.get(url + "/device").text
    for until, says in ((str(time.time() - 10), "not a time within the next two days"),
                        (str(time.time() + 3 * 86400), "not a time within the next two"),
                        ("soon", "not a time")):
        r = post(alex, url, "/notifications/snooze", {"csrf": token, "for": "tomorrow",
                                                      "until": until})
        assert r.status_code == 400 and says in r.text, r.text
    r = post(alex, url, "/notifications/snooze", {"csrf": token, "for": "a week"})
    assert r.status_code == 400 and "an hour or until tomorrow" in r.text
    r = post(alex, url, "/notifications/unsnooze", {"csrf": token})
    assert r.status_code == 303
    assert "data-snoozed" not in alex.get(url + "/notifications").text
    r = post(sam, url, "/notifications/snooze", {"csrf": sam_token, "for": "tomorrow",
                                                 "until": str(time.time() + 5 * 3600)})
    assert r.status_code == 303 and "done=snoozed_tomorrow" in r.headers["location"]
    assert "Snoozed until tomorrow." in sam.get(url + r.headers["location"]).text
    assert "Traceback" not in "".join(world.log)


def test_a_snoozed_account_gets_its_request_later_and_others_now(
        make_world: Callable[..., World], push_service: PushService) -> None:
    world = make_world(web=push_on(push_service))
    world.add_user()
    world.add_user("sam")
    url = world.start()
    alex, sam = world.session(), world.session()
    token = login(alex, url)
    sam_token = login(sam, url, "sam")
    _, alexs = push_service.subscribe()
    _, sams = push_service.subscribe()
    # alex's subscription is older: the notifier reaches it first in every pass.
    assert post_json(alex, url, "/push/subscribe", alexs, token).status_code == 200
    assert post_json(sam, url, "/push/subscribe", sams, sam_token).status_code == 200
    assert post(alex, url, "/notifications/snooze",
                {"csrf": token, "for": "hour"}).status_code == 303
    rid = world.import_request()
    assert push_service.wait_for(1, timeout=10), "".join(world.log)
    assert [m["tag"] for m in push_service.delivered_to(sams)] == [f"request-{rid}"]
    assert push_service.delivered_to(alexs) == [], "snoozed: the request waits"
    assert post(alex, url, "/notifications/unsnooze", {"csrf": token}).status_code == 303
    assert push_service.wait_for(2, timeout=15), "the snooze ended: the request follows"
    assert [m["tag"] for m in push_service.delivered_to(alexs)] == [f"request-{rid}"]


def test_with_push_off_the_page_says_how_to_turn_it_on(world: World) -> None:
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    page = s.get(url + "/notifications").text
    assert "Notifications are off on this device" in page and 'name="kind"' not in page
    r = post(s, url, "/notifications/snooze", {"csrf": token, "for": "hour"})
    assert r.status_code == 400 and "[push] enabled = true" in r.text
    assert s.get(world.url + "/notifications", allow_redirects=False).status_code == 200
    assert world.session().get(url + "/notifications",
                               allow_redirects=False).status_code == 303


def test_every_kind_has_its_words() -> None:
    from device.web import words
    from device.web.kinds import ORDER, Kind

    assert set(words.KIND_NAME) == set(words.KIND_HINT) == set(ORDER) == set(Kind)
