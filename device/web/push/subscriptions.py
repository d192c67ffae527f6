"""The owner's push subscriptions: validated browser JSON in, one SQLite table out.

A subscription is what a browser's `PushSubscription.toJSON()` gives: an endpoint URL at its
push service and two keys (RFC 8291 §2): `p256dh`, the browser's P-256 public key, and `auth`,
a 16-byte secret. The endpoint is unique: the same browser subscribing again (or for another
account) replaces its row.

Each stored subscription also gets a change token: 32 random bytes handed to the browser once
(only their SHA-256 is kept). When the browser's push service rotates the subscription, the
service worker, which has no CSRF token, proves with it that it held the old subscription:
`change` accepts the token once, for the account and endpoint it was issued for, and issues
the next one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.sqlitewal import connect_wal
from device.web.push.b64 import b64url_decode
from device.web.push.crypto import AUTH_BYTES, POINT_BYTES, load_point
from device.web.push.endpoints import EndpointPolicy
from device.web.push.errors import InvalidSubscription

MAX_BODY = 4096
MAX_ENDPOINT = 2048
MAX_ACCOUNT = 128
MAX_PER_ACCOUNT = 20  # beyond this the account's oldest subscription is dropped

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, endpoint TEXT NOT NULL UNIQUE,
    p256dh BLOB NOT NULL, auth BLOB NOT NULL, created REAL NOT NULL, last_success REAL,
    failures INTEGER NOT NULL DEFAULT 0, last_failure TEXT, failing_since REAL,
    change_hash BLOB);
CREATE INDEX IF NOT EXISTS subscriptions_account ON subscriptions (account);
"""
# Columns added since the first release, for databases made before them.
_ADDED = {"failing_since": "REAL", "change_hash": "BLOB"}
_COLUMNS = ("id, account, endpoint, p256dh, auth, created, last_success, failures, "
            "last_failure, failing_since")


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
    failing_since: float | None  # the first of those failures


@dataclass(frozen=True)
class Subscribed:
    """A stored subscription's id, and the change token only its browser gets."""

    id: int
    change_token: str


def _new_token() -> tuple[str, bytes]:
    token = secrets.token_urlsafe(32)
    return token, _digest(token)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


def parse_subscription(body: bytes | str | Mapping[str, Any], policy: EndpointPolicy) -> Keys:
    """Validate a browser's subscription JSON, its endpoint at a push service `policy`
    allows; InvalidSubscription says what is wrong."""
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
    why = policy.refusal(endpoint)
    if why is not None:
        raise InvalidSubscription(why)
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
        self.db = connect_wal(path)
        self.db.executescript(_SCHEMA)
        have = {row[1] for row in self.db.execute("PRAGMA table_info(subscriptions)")}
        for name, kind in _ADDED.items():
            if name not in have:
                try:
                    self.db.execute(f"ALTER TABLE subscriptions ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):  # another thread added it first
                        raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SubscriptionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, account: str, keys: Keys, now: float) -> Subscribed:
        """Store (or replace, by endpoint) a subscription; its id and change token."""
        check_account(account)
        token, digest = _new_token()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM subscriptions WHERE endpoint = ?", (keys.endpoint,))
            new_id = self.db.execute(
                "INSERT INTO subscriptions (account, endpoint, p256dh, auth, created, "
                "change_hash) VALUES (?,?,?,?,?,?)",
                (account, keys.endpoint, keys.p256dh, keys.auth, now, digest)).lastrowid
            self.db.execute(
                "DELETE FROM subscriptions WHERE account = ? AND id NOT IN (SELECT id FROM "
                "subscriptions WHERE account = ? ORDER BY created DESC, id DESC LIMIT ?)",
                (account, account, MAX_PER_ACCOUNT))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        assert new_id is not None
        return Subscribed(int(new_id), token)

    def change(self, account: str, old_endpoint: str, token: str, keys: Keys,
               now: float) -> Subscribed | None:
        """Replace the account's subscription at `old_endpoint` by `keys` if `token` is the
        change token issued for it; the same id (its pending pushes follow) and a new token.
        None, with nothing changed, for any other account, endpoint or token, or when another
        account holds the new endpoint (a change never takes over another's subscription)."""
        new_token, digest = _new_token()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute(
                "SELECT id, change_hash FROM subscriptions WHERE account = ? AND endpoint = ?",
                (account, old_endpoint)).fetchone()
            proven = row is not None and row[1] is not None and hmac.compare_digest(
                row[1], _digest(token))
            holder = self.db.execute("SELECT account FROM subscriptions WHERE endpoint = ?",
                                     (keys.endpoint,)).fetchone()
            if not proven or (holder is not None and holder[0] != account):
                self.db.execute("ROLLBACK")
                return None
            self.db.execute("DELETE FROM subscriptions WHERE endpoint = ? AND id != ?",
                            (keys.endpoint, row[0]))
            self.db.execute(
                "UPDATE subscriptions SET endpoint = ?, p256dh = ?, auth = ?, created = ?, "
                "change_hash = ?, failures = 0, last_failure = NULL, failing_since = NULL "
                "WHERE id = ?", (keys.endpoint, keys.p256dh, keys.auth, now, digest, row[0]))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return Subscribed(int(row[0]), new_token)

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
                        "last_failure = NULL, failing_since = NULL WHERE id = ?", (now, sub_id))

    def failed(self, sub_id: int, reason: str, now: float) -> Subscription | None:
        """Count a failed delivery; the subscription as it stands now."""
        self.db.execute("UPDATE subscriptions SET failures = failures + 1, last_failure = ?, "
                        "failing_since = COALESCE(failing_since, ?) WHERE id = ?",
                        (reason[:200], now, sub_id))
        return self.get(sub_id)
