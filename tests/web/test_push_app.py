"""Web Push through the running app: `python3 -m device.web` with [push] on, a browser's
subscription posted over HTTPS as subscribe.js posts it, a real signed request imported into
the real request book, and the loopback push service (tests/web/push) decrypting the push
with the subscription's private key, as the browser would."""

from __future__ import annotations

import html
import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support import wait_until
from tests.web.helpers import login
from tests.web.push.browser import Browser
from tests.web.push.pushservice import PushService
from tests.web.world import World


def push_on(service: PushService) -> str:
    """The [push] section of a test's config: on, with the loopback push service named
    (it is never allowed by default)."""
    return ('\n[push]\nenabled = true\ncontact = "mailto:owner@example.org"\n'
            f'other_services = ["{service.origin}"]\n')
ATTR = re.compile(r'data-(push-key|push-url|csrf-token|sw-url)="([^"]*)"')



def device_button(s: requests.Session, url: str) -> dict[str, str]:
    """The data attributes of the Device page's notifications button."""
    page = s.get(url + "/device")
    assert page.status_code == 200
    assert '<script src="/push/subscribe.js" defer></script>' in page.text
    return {k: html.unescape(v) for k, v in ATTR.findall(page.text)}


def post_json(s: requests.Session, url: str, path: str, body: Any, token: str,
              **headers: str) -> requests.Response:
    """What subscribe.js's fetch() sends: same-origin, JSON, the CSRF token in a header."""
    h = {"Origin": url, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json",
         "X-CSRF-Token": token, **headers}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return s.post(url + path, data=data, headers=h, allow_redirects=False)


def shown_at(world: World, rid: str) -> float:
    db = sqlite3.connect(f"file:{world.store / 'uplink.sqlite3'}?mode=ro", uri=True)
    try:
        (value,) = db.execute("SELECT shown_at FROM requests WHERE request_id = ?",
                              (rid,)).fetchone()
    finally:
        db.close()
    return float(value)


def test_a_subscribed_browser_gets_exactly_one_push_per_request_within_2_s(
        make_world: Callable[..., World], push_service: PushService) -> None:
    world = make_world(web=push_on(push_service))
    world.add_user()
    url = world.start()
    assert any("push notifications on (rings, requests" in line for line in world.log)
    s = world.session()
    login(s, url)
    attrs = device_button(s, url)
    assert attrs["push-url"] == "/push/subscribe" and attrs["sw-url"] == "/sw.js"
    sw = s.get(url + "/sw.js")
    assert sw.status_code == 200 and "showNotification" in sw.text
    assert sw.headers["service-worker-allowed"] == "/"
    assert sw.headers["content-type"].startswith("text/javascript")
    assert s.get(url + "/push/subscribe.js").status_code == 200

    _, subscription = push_service.subscribe(Browser.new())
    r = post_json(s, url, "/push/subscribe", subscription, attrs["csrf-token"])
    assert r.status_code == 200 and r.json()["subscribed"] is True, r.text
    assert "1 browser gets notifications for alex" in s.get(url + "/device").text

    rid = world.import_request()
    assert push_service.wait_for(1, timeout=10), "".join(world.log)
    [delivery] = push_service.deliveries
    latency = delivery.at - shown_at(world, rid)
    assert latency <= 2.0, f"request shown to push delivered: {latency:.2f} s"
    card = f"/#request-{rid}"
    assert delivery.message == {
        "title": "doorcam", "body": "New request from Test Police", "url": card,
        "tag": f"request-{rid}", "kind": "request", "image": "/live/snapshot.jpg",
        "actions": [{"action": "requests", "title": "Requests", "url": card},
                    {"action": "live", "title": "Live", "url": "/live"}]}
    assert push_service.problems == []
    page = s.get(url + "/").text
    assert f'id="request-{rid}"' in page, "the notification opens this request's card"

    second = world.import_request()  # a later pass of the notifier: the first is not repeated
    assert push_service.wait_for(2, timeout=10), "".join(world.log)
    assert [d.message["tag"] for d in push_service.deliveries] == [f"request-{rid}",
                                                                   f"request-{second}"]
    assert push_service.posts == 2

    r = post_json(s, url, "/push/unsubscribe", {"endpoint": subscription["endpoint"]},
                  attrs["csrf-token"])
    assert r.status_code == 200 and r.json() == {"removed": True}
    assert "No browser gets notifications" in s.get(url + "/device").text
    print(f"request shown to push delivered: {latency * 1000:.0f} ms")


def test_subscriptions_are_checked_like_every_post(
        make_world: Callable[..., World], push_service: PushService) -> None:
    world = make_world(web=push_on(push_service))
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    _, sub = push_service.subscribe()
    r = post_json(s, url, "/push/subscribe", sub, token, Origin="https://evil.example",
                  **{"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403 and "another site" in r.text
    r = post_json(s, url, "/push/subscribe", sub, "forged")
    assert r.status_code == 403 and "security token" in r.text
    assert "<html" not in r.text, "subscribe.js shows the answer as text"
    r = post_json(s, url, "/push/subscribe", sub, token, **{"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = post_json(s, url, "/push/subscribe", "{not json", token)
    assert r.status_code == 400 and r.text == "The body is not JSON."
    bad = {**sub, "keys": {**sub["keys"], "auth": "c2hvcnQ"}}
    r = post_json(s, url, "/push/subscribe", bad, token)
    assert r.status_code == 400 and "keys.auth must be base64url of a 16-byte secret" in r.text
    r = post_json(s, url, "/push/subscribe", {**sub, "endpoint": "http://push.example/x"},
                  token)
    assert r.status_code == 400 and "https://" in r.text
    r = post_json(s, url, "/push/subscribe", "x" * 9000, token)
    assert r.status_code == 413
    r = post_json(s, url, "/push/unsubscribe", {"nope": 1}, token)
    assert r.status_code == 400 and "endpoint" in r.text
    anonymous = world.session()
    r = post_json(anonymous, url, "/push/subscribe", sub, token)
    assert r.status_code == 401
    assert push_service.posts == 0 and "Traceback" not in "".join(world.log)


def change(s: requests.Session, url: str, old: str, token: str, new: Any,
           **headers: str) -> requests.Response:
    """What the service worker sends when its browser rotated the subscription: no CSRF
    token (a worker has no page), the old endpoint and its change token instead."""
    h = {"Origin": url, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json",
         **headers}
    body = json.dumps({"old_endpoint": old, "token": token, "subscription": new})
    return s.post(url + "/push/change", data=body, headers=h, allow_redirects=False)


def test_a_rotated_subscription_is_replaced_only_with_its_own_change_token(
        make_world: Callable[..., World], push_service: PushService) -> None:
    world = make_world(web=push_on(push_service))
    world.add_user()
    world.add_user("sam")
    url = world.start()
    alex, sam = world.session(), world.session()
    token = login(alex, url)
    sam_token = login(sam, url, "sam")
    _, old = push_service.subscribe()
    _, new = push_service.subscribe()
    _, sams = push_service.subscribe()
    r = post_json(alex, url, "/push/subscribe", old, token)
    assert r.status_code == 200, r.text
    issued = r.json()["change_token"]
    r = post_json(sam, url, "/push/subscribe", sams, sam_token)
    sam_issued = r.json()["change_token"]
    assert len(issued) >= 43 and issued != sam_issued

    refused = "could not be renewed"
    for who, endpoint, proof, why in (
            # The first character: all six of its bits count (the last one's may be padding).
            (alex, old["endpoint"], ("B" if issued[0] == "A" else "A") + issued[1:],
             "a wrong token"),
            (alex, old["endpoint"], sam_issued, "another subscription's token"),
            (alex, sams["endpoint"], sam_issued, "another account's subscription"),
            (sam, old["endpoint"], issued, "another account's session")):
        r = change(who, url, endpoint, proof, new)
        assert r.status_code == 403 and refused in r.text, (why, r.status_code, r.text)
    r = change(world.session(), url, old["endpoint"], issued, new)
    assert r.status_code == 401, "the login is still required"
    r = change(alex, url, old["endpoint"], issued, new, Origin="https://evil.example",
               **{"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403 and "another site" in r.text
    r = change(alex, url, old["endpoint"], issued, {**new, "keys": {}})
    assert r.status_code == 400 and "keys.p256dh is missing" in r.text
    assert "1 browser gets notifications for alex" in alex.get(url + "/device").text

    r = change(alex, url, old["endpoint"], issued, new)  # the refusals did not spend it
    assert r.status_code == 200 and r.json()["renewed"] is True, r.text
    rotated = r.json()["change_token"]
    assert rotated not in (issued, sam_issued)
    r = change(alex, url, old["endpoint"], issued, new)
    assert r.status_code == 403, "a change token works once"
    r = change(alex, url, new["endpoint"], issued, old)
    assert r.status_code == 403, "the old token does not move the new subscription"

    rid = world.import_request()
    assert push_service.wait_for(2, timeout=10), "".join(world.log)
    assert push_service.delivered_to(new) == push_service.delivered_to(sams) != []
    assert push_service.delivered_to(old) == []
    assert push_service.delivered_to(new)[0]["tag"] == f"request-{rid}"
    r = change(alex, url, new["endpoint"], rotated, old)
    assert r.status_code == 200, "the token that came with the change works, once"
    assert "Traceback" not in "".join(world.log)


def test_with_push_off_the_device_page_says_how_to_turn_it_on(world: World) -> None:
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    page = s.get(url + "/device").text
    assert "Notifications are off on this device" in page and "data-push-subscribe" not in page
    r = post_json(s, url, "/push/subscribe", {}, token)
    assert r.status_code == 400 and "[push] enabled = false" in r.text
    assert not (world.store / "web" / "vapid_key.pem").exists()


def test_push_enabled_without_contact_is_refused_at_start(
        make_world: Callable[..., World]) -> None:
    world = make_world(web="\n[push]\nenabled = true\n")
    with pytest.raises(AssertionError, match=r"push\.contact must be set"):
        world.start()


def test_a_subscription_to_an_address_is_refused_and_nothing_is_sent_there(
        make_world: Callable[..., World], push_service: PushService) -> None:
    """The device posts only to push services: a loopback push service the config does not
    name gets neither a subscription nor a push, even one stored before the rule."""
    unnamed = PushService().start()
    try:
        world = make_world(web=push_on(push_service))
        world.add_user()
        url = world.start()
        s = world.session()
        token = login(s, url)
        _, stray = unnamed.subscribe()
        for endpoint, says in (
                (stray["endpoint"], "not an IP address (127.0.0.1)"),
                ("https://192.168.1.1/push/x", "not an IP address (192.168.1.1)"),
                ("https://localhost/push/x", "not a public host name"),
                ("https://router.local/push/x", "not a public host name"),
                ("https://push.example.org/x", "not a push service this device knows")):
            r = post_json(s, url, "/push/subscribe", {**stray, "endpoint": endpoint}, token)
            assert r.status_code == 400 and says in r.text, (endpoint, r.text)
            assert "<html" not in r.text
        assert "No browser gets notifications" in s.get(url + "/device").text

        _, good = push_service.subscribe()
        assert post_json(s, url, "/push/subscribe", good, token).status_code == 200
        # A row written before endpoints were checked (an older version stored it).
        db = sqlite3.connect(world.store / "web" / "push.sqlite3")
        with db:
            db.execute("INSERT INTO subscriptions (account, endpoint, p256dh, auth, created) "
                       "SELECT account, ?, p256dh, auth, created FROM subscriptions",
                       (stray["endpoint"],))
        db.close()
        world.import_request()
        assert push_service.wait_for(1, timeout=10), "".join(world.log)
        wait_until(lambda: any("dropping subscription" in line for line in world.log), 10,
                   "the stray subscription dropped")
        assert unnamed.posts == 0 and unnamed.elsewhere_hits == 0
        assert len(push_service.deliveries) == 1
        assert "1 browser gets notifications for alex" in s.get(url + "/device").text
    finally:
        unnamed.stop()
