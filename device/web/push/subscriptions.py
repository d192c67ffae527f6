"""The owner's push subscriptions: validated browser JSON in, one SQLite table out.

A subscription is what a browser's `PushSubscription.toJSON()` gives: an endpoint URL at its
push service and two keys (RFC 8291 §2): `p256dh`, the browser's P-256 public key, and `auth`,
a 16-byte secret. The endpoint is unique: the same browser subscribing again (or for another
account) replaces its row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device.web.push.b64 import b64url_decode
from device.web.push.crypto import AUTH_BYTES, POINT_BYTES, load_point
from device.web.push.errors import InvalidSubscription
from uplink.errors import UplinkError
from uplink.upload.urls import check_scheme

MAX_BODY = 4096
MAX_ENDPOINT = 2048
MAX_ACCOUNT = 128
MAX_PER_ACCOUNT = 20  # beyond this the account's oldest subscription is dropped

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, endpoint TEXT NOT NULL UNIQUE,
    p256dh BLOB NOT NULL, auth BLOB NOT NULL, created REAL NOT NULL, last_success REAL,
    failures INTEGER NOT NULL DEFAULT 0, last_failure TEXT);
CREATE INDEX IF NOT EXISTS subscriptions_account ON subscriptions (account);
"""
_COLUMNS = "id, account, endpoint, p256dh, auth, created, last_success, failures, last_failure"


@dataclass(frozen=True)
class Keys:
    """A validated subscription before it is stored."""

    endpoint: str
    p256dh: bytes
    auth: bytes


@dataclass(frozen=True)
class Subscription:
    id: int
    account: str
    endpoint: str
    p256dh: bytes
    auth: bytes
    created: float
    last_success: float | None
    failures: int  # failed deliveries since the last success
    last_failure: str | None


def parse_subscription(body: bytes | str | Mapping[str, Any]) -> Keys:
    """Validate a browser's subscription JSON; InvalidSubscription says what is wrong."""
    if isinstance(body, (bytes, str)):
        if len(body) > MAX_BODY:
            raise InvalidSubscription(f"subscription is over {MAX_BODY} bytes")
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            raise InvalidSubscription("subscription is not JSON") from None
    if not isinstance(body, Mapping):
        raise InvalidSubscription("subscription must be a JSON object, as "
                                  "PushSubscription.toJSON() gives")
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidSubscription("subscription has no endpoint (a string URL)")
    if len(endpoint) > MAX_ENDPOINT:
        raise InvalidSubscription(f"endpoint is longer than {MAX_ENDPOINT} characters")
    try:
        check_scheme(endpoint, allow_insecure_loopback=True)
    except UplinkError:
        raise InvalidSubscription(
            "endpoint must be an https:// URL without user name or password "
            "(plain http:// only to this machine's loopback address)") from None
    keys = body.get("keys")
    if not isinstance(keys, Mapping):
        raise InvalidSubscription("subscription has no keys (an object with p256dh and auth)")
    p256dh = _key(keys, "p256dh", POINT_BYTES, "a 65-byte uncompressed P-256 point")
    try:
        load_point(p256dh)
    except ValueError:
        raise InvalidSubscription("keys.p256dh is not an uncompressed point on P-256") from None
    return Keys(endpoint, p256dh, _key(keys, "auth", AUTH_BYTES, "a 16-byte secret"))


def _key(keys: Mapping[str, Any], name: str, size: int, what: str) -> bytes:
    text = keys.get(name)
    if not isinstance(text, str) or not text:
        raise InvalidSubscription(f"keys.{name} is missing (base64url of {what})")
    try:
        raw = b64url_decode(text)
    except ValueError:
        raise InvalidSubscription(f"keys.{name} is not base64url (of {what})") from None
    if len(raw) != size:
        raise InvalidSubscription(f"keys.{name} must be base64url of {what}; "
                                  f"it decodes to {len(raw)} bytes")
    return raw


def check_account(account: str) -> str:
    if not isinstance(account, str) or not account or len(account) > MAX_ACCOUNT:
        raise InvalidSubscription(f"account must be 1-{MAX_ACCOUNT} characters")
    return account


class SubscriptionStore:
    """One connection; use it from the thread that opened it (sqlite3 enforces this)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SubscriptionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, account: str, keys: Keys, now: float) -> int:
        """Store (or replace, by endpoint) a subscription; its id."""
        check_account(account)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM subscriptions WHERE endpoint = ?", (keys.endpoint,))
            new_id = self.db.execute(
                "INSERT INTO subscriptions (account, endpoint, p256dh, auth, created) "
                "VALUES (?,?,?,?,?)", (account, keys.endpoint, keys.p256dh, keys.auth, now)
            ).lastrowid
            self.db.execute(
                "DELETE FROM subscriptions WHERE account = ? AND id NOT IN (SELECT id FROM "
                "subscriptions WHERE account = ? ORDER BY created DESC, id DESC LIMIT ?)",
                (account, account, MAX_PER_ACCOUNT))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        assert new_id is not None
        return int(new_id)

    def remove(self, account: str, endpoint: str) -> bool:
        """Drop the account's subscription with this endpoint; False if there was none."""
        return self.db.execute("DELETE FROM subscriptions WHERE account = ? AND endpoint = ?",
                               (account, endpoint)).rowcount > 0

    def drop(self, sub_id: int) -> None:
        self.db.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,))

    def get(self, sub_id: int) -> Subscription | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM subscriptions WHERE id = ?",
                              (sub_id,)).fetchone()
        return None if row is None else Subscription(*row)

    def all(self, account: str | None = None) -> list[Subscription]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE ?1 IS NULL OR account = ?1 "
            "ORDER BY id", (account,)).fetchall()
        return [Subscription(*r) for r in rows]

    def succeeded(self, sub_id: int, now: float) -> None:
        self.db.execute("UPDATE subscriptions SET last_success = ?, failures = 0, "
                        "last_failure = NULL WHERE id = ?", (now, sub_id))

    def failed(self, sub_id: int, reason: str) -> None:
        self.db.execute("UPDATE subscriptions SET failures = failures + 1, last_failure = ? "
                        "WHERE id = ?", (reason[:200], sub_id))
