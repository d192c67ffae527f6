"""Subscription JSON from browsers: what is stored, and the specific refusals."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from device.web.push.endpoints import EndpointPolicy
from device.web.push.errors import InvalidSubscription
from device.web.push.subscriptions import (
    MAX_PER_ACCOUNT,
    Keys,
    SubscriptionStore,
)
from device.web.push.subscriptions import parse_subscription as parse
from tests.web.push.browser import Browser

POLICY = EndpointPolicy.of(["push.example.com", "http://127.0.0.1:8080"])


def parse_subscription(body: Any, policy: EndpointPolicy = POLICY) -> Keys:
    return parse(body, policy)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sub(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc:def",
         **keys: Any) -> dict[str, Any]:
    doc = Browser.new().subscription(endpoint)
    doc["keys"].update(keys)
    return doc


def test_a_browser_subscription_parses_from_bytes_text_or_dict() -> None:
    browser = Browser.new()
    doc = browser.subscription("https://updates.push.services.mozilla.com/wpush/v2/gAAA")
    for body in (json.dumps(doc).encode(), json.dumps(doc), doc):
        keys = parse_subscription(body)
        assert keys.endpoint == doc["endpoint"]
        assert (keys.p256dh, keys.auth) == (browser.p256dh, browser.auth)


def test_loopback_http_only_at_the_origin_the_config_names() -> None:
    assert parse_subscription(_sub("http://127.0.0.1:8080/push/x")).endpoint.startswith("http:")
    for other in ("http://127.0.0.1:8081/push/x", "http://localhost:8080/push/x",
                  "https://127.0.0.1:8080/push/x"):
        with pytest.raises(InvalidSubscription):
            parse_subscription(_sub(other))
    with pytest.raises(InvalidSubscription, match="not an IP address"):
        parse_subscription(_sub("http://127.0.0.1:8080/push/x"), EndpointPolicy.of())


@pytest.mark.parametrize(("body", "says"), [
    (b"not json", "not JSON"),
    (b"[]", "must be a JSON object"),
    (b"x" * 5000, "over 4096 bytes"),
    ({"keys": {}}, "no endpoint"),
    (_sub("http://push.example.com/x"), "must be an https:// URL"),
    (_sub("https://user:pw@push.example.com/x"), "must not carry a user name or password"),
    (_sub("ftp://push.example.com/x"), "must be an https:// URL"),
    (_sub("https://push.example.com/" + "x" * 2100), "longer than 2048"),
    ({"endpoint": "https://push.example.com/x"}, "no keys"),
    (_sub(p256dh=None), "keys.p256dh is missing"),
    (_sub(p256dh="not base64url!"), "keys.p256dh is not base64url"),
    (_sub(p256dh=_b64(b"\x04" + b"\x01" * 31)), "65-byte uncompressed P-256 point; it "
                                                 "decodes to 32 bytes"),
    (_sub(p256dh=_b64(b"\x04" + b"\x00" * 64)), "not an uncompressed point on P-256"),
    (_sub(p256dh=_b64(b"\x02" + b"\x01" * 64)), "not an uncompressed point on P-256"),
    (_sub(auth=_b64(b"\x01" * 12)), "keys.auth must be base64url of a 16-byte secret; it "
                                     "decodes to 12 bytes"),
    (_sub(auth=""), "keys.auth is missing"),
])
def test_refusals_say_what_is_wrong(body: Any, says: str) -> None:
    with pytest.raises(InvalidSubscription, match=re.escape(says)):
        parse_subscription(body)


def test_store_replaces_by_endpoint_and_caps_each_account(tmp_path: Path) -> None:
    with SubscriptionStore(tmp_path / "push.sqlite3") as store:
        doc = _sub()
        first = store.add("alice", parse_subscription(doc), 1.0)
        again = store.add("bob", parse_subscription(doc), 2.0)  # same browser, other account
        assert first != again
        assert [s.account for s in store.all()] == ["bob"]
        for i in range(MAX_PER_ACCOUNT + 2):
            store.add("alice", parse_subscription(_sub(f"https://push.example.com/{i}")),
                      10.0 + i)
        kept = [s.endpoint for s in store.all("alice")]
        assert len(kept) == MAX_PER_ACCOUNT and "https://push.example.com/0" not in kept
        assert store.remove("alice", "https://push.example.com/5")
        assert not store.remove("bob", "https://push.example.com/6"), "not bob's"
        assert not store.remove("alice", "https://push.example.com/5")
        sub = store.all("bob")[0]
        store.failed(sub.id, "x", 3.0)
        failing = store.failed(sub.id, "y", 4.0)
        assert failing is not None and (failing.failures, failing.failing_since) == (2, 3.0)
        store.succeeded(sub.id, 5.0)
        fresh = store.get(sub.id)
        assert fresh is not None and (fresh.failures, fresh.last_success) == (0, 5.0)
        assert fresh.failing_since is None, "a success ends the streak"


def _keys(endpoint: str) -> Keys:
    return parse_subscription(_sub(endpoint))


def test_a_change_token_replaces_its_own_subscription_once(tmp_path: Path) -> None:
    with SubscriptionStore(tmp_path / "push.sqlite3") as store:
        old, other = "https://push.example.com/old", "https://push.example.com/other"
        mine = store.add("alice", _keys(old), 1.0)
        theirs = store.add("bob", _keys(other), 1.0)
        store.failed(mine.id, "500", 2.0)
        new = _keys("https://push.example.com/new")
        assert store.change("alice", old, theirs.change_token, new, 3.0) is None, "bob's"
        assert store.change("bob", old, mine.change_token, new, 3.0) is None, "alice's"
        assert store.change("alice", old, mine.change_token + "x", new, 3.0) is None
        assert store.change("alice", old, mine.change_token, _keys(other), 3.0) is None, \
            "bob's subscription is not taken over"
        assert [s.endpoint for s in store.all()] == [old, other], "nothing changed"

        done = store.change("alice", old, mine.change_token, new, 4.0)
        assert done is not None and done.id == mine.id and done.change_token not in (
            mine.change_token, theirs.change_token)
        row = store.get(mine.id)
        assert row is not None and (row.endpoint, row.p256dh, row.failures) == (
            new.endpoint, new.p256dh, 0)
        again = _keys("https://push.example.com/newer")
        assert store.change("alice", old, mine.change_token, again, 5.0) is None, "used"
        assert store.change("alice", new.endpoint, mine.change_token, again, 5.0) is None
        assert store.change("alice", new.endpoint, done.change_token, again, 5.0)
        assert [s.endpoint for s in store.all()] == [again.endpoint, other]


def test_a_database_from_before_change_tokens_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "push.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE subscriptions (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                   "account TEXT NOT NULL, endpoint TEXT NOT NULL UNIQUE, p256dh BLOB NOT NULL,"
                   " auth BLOB NOT NULL, created REAL NOT NULL, last_success REAL, "
                   "failures INTEGER NOT NULL DEFAULT 0, last_failure TEXT)")
        k = _keys("https://push.example.com/before")
        db.execute("INSERT INTO subscriptions (account, endpoint, p256dh, auth, created) "
                   "VALUES ('alice', ?, ?, ?, 1.0)", (k.endpoint, k.p256dh, k.auth))
    db.close()
    with SubscriptionStore(path) as store:
        (before,) = store.all()
        assert before.failing_since is None
        assert store.change("alice", k.endpoint, "", _keys("https://push.example.com/x"),
                            2.0) is None, "no token was ever issued for it"
        assert store.failed(before.id, "500", 3.0).failing_since == 3.0  # type: ignore[union-attr]
