"""Passkeys and their pending challenges, in the accounts database beside the accounts.

A passkey belongs to an account (removed with it), and to the relying party it was made
for. A challenge is single-use and short-lived: it is deleted when it is taken, whether it
is still good or not, and it is bound to what started it (a session or a login form).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passkey_users (
    name TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
    handle BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS passkeys (
    id BLOB PRIMARY KEY, name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label TEXT NOT NULL, rp_id TEXT NOT NULL, public_key BLOB NOT NULL,
    sign_count INTEGER NOT NULL, created REAL NOT NULL, last_used REAL);
CREATE TABLE IF NOT EXISTS passkey_challenges (
    key TEXT PRIMARY KEY, purpose TEXT NOT NULL, detail TEXT NOT NULL, expires REAL NOT NULL);
"""
MAX_PER_ACCOUNT = 20


class PasskeyError(Exception):
    """A refused passkey change; the message is one line for the owner."""


@dataclass(frozen=True)
class Passkey:
    id: bytes
    name: str  # the account
    label: str
    rp_id: str
    public_key: bytes
    sign_count: int
    created: float
    last_used: float | None

    @property
    def ref(self) -> str:
        """A short reference for forms and URLs (not secret: the id is public)."""
        return hashlib.sha256(self.id).hexdigest()[:16]


def binding(kind: str, token: str) -> str:
    """The key a challenge is kept under: a hash of the session or login-form token."""
    return hashlib.sha256(f"{kind}:{token}".encode("ascii", "replace")).hexdigest()


class PasskeyStore:
    """One connection to the accounts database (whose `users` table must exist, as
    `Accounts` makes it); use from one thread."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PasskeyStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- passkeys ----------------------------------------------------------------------
    def user_handle(self, name: str) -> bytes:
        """The account's opaque WebAuthn user id (random, made once)."""
        self._db.execute("INSERT OR IGNORE INTO passkey_users VALUES (?, ?)",
                         (name, secrets.token_bytes(32)))
        row = self._db.execute("SELECT handle FROM passkey_users WHERE name = ?",
                               (name,)).fetchone()
        return bytes(row[0])

    def handle_owner(self, handle: bytes) -> str | None:
        row = self._db.execute("SELECT name FROM passkey_users WHERE handle = ?",
                               (handle,)).fetchone()
        return None if row is None else str(row[0])

    def of(self, name: str) -> list[Passkey]:
        rows = self._db.execute("SELECT * FROM passkeys WHERE name = ? ORDER BY created",
                                (name,)).fetchall()
        return [Passkey(*r) for r in rows]

    def get(self, credential_id: bytes) -> Passkey | None:
        row = self._db.execute("SELECT * FROM passkeys WHERE id = ?",
                               (credential_id,)).fetchone()
        return None if row is None else Passkey(*row)

    def add(self, key: Passkey) -> None:
        if len(self.of(key.name)) >= MAX_PER_ACCOUNT:
            raise PasskeyError(f"an account has at most {MAX_PER_ACCOUNT} passkeys: remove "
                               "one first")
        try:
            self._db.execute("INSERT INTO passkeys VALUES (?,?,?,?,?,?,?,?)",
                             (key.id, key.name, key.label, key.rp_id, key.public_key,
                              key.sign_count, key.created, key.last_used))
        except sqlite3.IntegrityError:
            raise PasskeyError("this passkey is already registered") from None

    def used(self, credential_id: bytes, sign_count: int, now: float) -> None:
        self._db.execute("UPDATE passkeys SET sign_count = ?, last_used = ? WHERE id = ?",
                         (sign_count, now, credential_id))

    def remove(self, name: str, ref: str) -> Passkey | None:
        """Remove the account's passkey with this reference; None if it has none such."""
        for key in self.of(name):
            if secrets.compare_digest(key.ref, ref):
                self._db.execute("DELETE FROM passkeys WHERE id = ? AND name = ?",
                                 (key.id, name))
                return key
        return None

    # -- challenges --------------------------------------------------------------------
    def hold(self, key: str, purpose: str, detail: dict[str, Any], now: float,
             lifetime_s: float) -> None:
        """Keep a ceremony's state until `take`; a newer one under the same key replaces
        it. Also forgets challenges that expired."""
        self._db.execute("DELETE FROM passkey_challenges WHERE expires <= ?", (now,))
        self._db.execute("INSERT OR REPLACE INTO passkey_challenges VALUES (?,?,?,?)",
                         (key, purpose, json.dumps(detail), now + lifetime_s))

    def take(self, key: str, purpose: str, now: float) -> dict[str, Any] | None:
        """The state kept under `key` for `purpose`, deleted as it is read; None if there is
        none, it was for something else, or it expired."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT purpose, detail, expires FROM passkey_challenges "
                                   "WHERE key = ?", (key,)).fetchone()
            self._db.execute("DELETE FROM passkey_challenges WHERE key = ?", (key,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if row is None or row[0] != purpose or row[2] <= now:
            return None
        detail: dict[str, Any] = json.loads(row[1])
        return detail
