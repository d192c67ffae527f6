"""The web app's words: every state has its own, and an error is answered as a page or as
plain text by the route's kind and the client's `Accept`, over real HTTP."""

from __future__ import annotations

import html

import requests

from device.web import words
from device.web.access import AccessKind
from tests.web.helpers import login, post
from tests.web.world import World
from uplink.audit import AuditKind
from uplink.desk.book import RequestStatus
from uplink.errors import Refusal


def test_every_state_has_its_own_words() -> None:
    for table, kinds in ((words.STATUS, RequestStatus), (words.ACCESS, AccessKind),
                         (words.AUDIT, AuditKind), (words.DONE, words.Done),
                         (words.LIVE, words.LiveAnswer)):
        assert set(table) == set(kinds), kinds
        assert len({str(w) for w in table.values()}) == len(table), f"{kinds}: words repeat"
    assert set(words.REFUSAL) <= set(Refusal)
    assert words.refusal(Refusal.STALE) == words.REFUSAL_OTHER
    assert words.done("") == "" and words.done("no such thing") == words.DONE_OTHER
    assert words.error_title(599) == words.ERROR_TITLE_OTHER
    assert words.error_message(404) == "There is no such page."


def _plain(r: requests.Response) -> bool:
    return r.headers["content-type"].startswith("text/plain") and "<html" not in r.text


def _page(r: requests.Response) -> bool:
    return r.headers["content-type"].startswith("text/html") and "<html" in r.text


def test_errors_are_pages_for_pages_and_text_for_scripts_and_media(world: World) -> None:
    world.fill_store(1)
    rid = world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    script = {"Accept": "application/json"}

    r = s.get(f"{url}/nowhere", headers=browser)
    assert r.status_code == 404 and _page(r) and "<h1>Not found</h1>" in r.text
    assert "There is no such page." in r.text
    r = s.get(f"{url}/nowhere", headers=script)
    assert r.status_code == 404 and _plain(r) and r.text == "There is no such page."
    # A media route answers text even to a browser's Accept: a <video> shows no page.
    r = s.get(f"{url}/clips/not-a-clip/video", headers=browser)
    assert r.status_code == 400 and _plain(r) and "invalid clip id" in r.text
    r = s.get(f"{url}/clips/20200101T000000Z-00000000/thumb", headers=browser)
    assert r.status_code == 404 and _plain(r)
    # The wrong method on a script's route: text; on a page's: a page.
    r = s.get(f"{url}/push/subscribe", headers=browser)
    assert r.status_code == 405 and _plain(r), r.text
    r = s.get(f"{url}/requests/{rid}/decline", headers=browser)
    assert r.status_code == 405 and _page(r) and "That is not how this page is used." in r.text
    # A refused decision: the refusal's words on the error page's title.
    r = post(s, url, f"/requests/{rid}/share", {"csrf": token, "clip": "../../etc/passwd",
                                               "confirm": "yes"})
    assert r.status_code == 409 and _page(r) and "<h1>Not possible right now</h1>" in r.text
    assert words.REFUSAL[Refusal.CLIP_NOT_MATCHED] in html.unescape(r.text)

    # What was done, once, in words; anything else in ?done= is just "Done."
    r = s.get(f"{url}/clips?done={words.Done.HELD}")
    assert words.DONE[words.Done.HELD] in r.text
    r = s.get(f"{url}/clips?done=%3Cscript%3E")
    assert f'role="status">{words.DONE_OTHER}</p>' in r.text and "<script>" not in r.text
    # A pending request's status in words.
    assert words.STATUS[RequestStatus.PENDING] in s.get(f"{url}/requests").text
