"""Household accounts, login lockout and sessions, in one small SQLite file.

Passwords: scrypt (memory-hard, stdlib) with a per-user random salt; the parameters are
stored with each hash so they can be raised later. Sessions: a random token in an HttpOnly
cookie; only its SHA-256 is stored, with the session's CSRF token and expiry. Failed logins
are counted per account and per client address; reaching the limit locks that key out for a
while, and the counts survive restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

# 8 MiB per hash (128 * r * n) and the work of n=2**14 (p=2 runs the lanes one after the
# other): memory-hard, yet the web process stays under its 60 MB. Stored with each hash.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**13, 8, 2
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}", re.ASCII)
_DUMMY_SALT = b"doorcam-no-such-user"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, salt BLOB NOT NULL, hash BLOB NOT NULL, n INTEGER NOT NULL,
    r INTEGER NOT NULL, p INTEGER NOT NULL, created REAL NOT NULL, changed REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, csrf TEXT NOT NULL,
    created REAL NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY, count INTEGER NOT NULL, last REAL NOT NULL, locked_until REAL);
"""


class AccountError(Exception):
    """A refused account operation; the message is one line for the user."""


class LockedOut(AccountError):
    def __init__(self, seconds: float) -> None:
        minutes = max(1, round(seconds / 60))
        super().__init__(f"Too many failed logins: try again in {minutes} minute"
                         f"{'s' if minutes != 1 else ''}.")
        self.seconds = seconds


@dataclass(frozen=True)
class Session:
    name: str
    csrf: str
    expires: float


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise AccountError("an account name is 1-32 characters: a-z 0-9 . _ - "
                           "(starting with a letter or digit)")
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * n + (1 << 20), dklen=32)


def _keys(name: str | None, addr: str) -> tuple[str, ...]:
    """The failure counters a way in is counted against."""
    by_addr = f"addr:{addr[:64]}"
    return (by_addr,) if name is None else (f"user:{name[:64]}", by_addr)


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class Accounts:
    """One connection; use from one thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Tables that hang off an account (its passkeys) go with it when it is removed.
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        path.chmod(0o600)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Accounts:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- accounts ----------------------------------------------------------------------
    def names(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM users ORDER BY name")]

    def exists(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM users WHERE name = ?",
                                (name,)).fetchone() is not None

    def add(self, name: str, password: str, now: float) -> None:
        check_name(name)
        salt = secrets.token_bytes(16)
        digest = _hash(check_password(password), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        try:
            self._db.execute("INSERT INTO users VALUES (?,?,?,?,?,?,?,?)",
                             (name, salt, digest, SCRYPT_N, SCRYPT_R, SCRYPT_P, now, now))
        except sqlite3.IntegrityError:
            raise AccountError(f"account {name!r} already exists (use passwd)") from None

    def set_password(self, name: str, password: str, now: float) -> None:
        salt = secrets.token_bytes(16)
        digest = _hash(check_password(password), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            changed = self._db.execute(
                "UPDATE users SET salt=?, hash=?, n=?, r=?, p=?, changed=? WHERE name=?",
                (salt, digest, SCRYPT_N, SCRYPT_R, SCRYPT_P, now, name)).rowcount
            self._db.execute("DELETE FROM sessions WHERE name = ?", (name,))
            self._db.execute("DELETE FROM failures WHERE key = ?", (f"user:{name}",))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if not changed:
            raise AccountError(f"no account {name!r}")

    def remove(self, name: str) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            gone = self._db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount
            self._db.execute("DELETE FROM sessions WHERE name = ?", (name,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if not gone:
            raise AccountError(f"no account {name!r}")

    # -- login -------------------------------------------------------------------------
    def login(self, name: str, password: str, addr: str, now: float, *, limit: int,
              lockout_s: float) -> bool:
        """True if the password is right. Raises LockedOut (without checking the password)
        while the account or the client address is locked; counts each failure."""
        self.refuse_if_locked(name, addr, now)
        row = self._db.execute("SELECT salt, hash, n, r, p FROM users WHERE name = ?",
                               (name,)).fetchone()
        if row is None:  # same work as a real check, so timing does not reveal names
            _hash(password, _DUMMY_SALT, SCRYPT_N, SCRYPT_R, SCRYPT_P)
            ok = False
        else:
            salt, digest, n, r, p = row
            ok = hmac.compare_digest(_hash(password, salt, n, r, p), digest)
        if ok:
            self.succeeded(name, addr)
        else:
            self.failed(name, addr, now, limit=limit, lockout_s=lockout_s)
        return ok

    def refuse_if_locked(self, name: str | None, addr: str, now: float) -> None:
        """LockedOut while the account (if named) or the client address is locked."""
        for key in _keys(name, addr):
            row = self._db.execute("SELECT locked_until FROM failures WHERE key = ?",
                                   (key,)).fetchone()
            if row and row[0] is not None and row[0] > now:
                raise LockedOut(row[0] - now)

    def failed(self, name: str | None, addr: str, now: float, *, limit: int,
               lockout_s: float) -> None:
        """Count a failed way in against the client address and, if named, the account."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for key in _keys(name, addr):
                self._fail(key, now, limit, lockout_s)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def succeeded(self, name: str, addr: str) -> None:
        self._db.execute("DELETE FROM failures WHERE key IN (?, ?)", _keys(name, addr))

    def _fail(self, key: str, now: float, limit: int, lockout_s: float) -> None:
        row = self._db.execute("SELECT count, locked_until FROM failures WHERE key = ?",
                               (key,)).fetchone()
        count = 0 if row is None or (row[1] is not None and row[1] <= now) else int(row[0])
        count += 1
        locked = now + lockout_s if count >= limit else None
        self._db.execute("INSERT OR REPLACE INTO failures VALUES (?,?,?,?)",
                         (key, count, now, locked))

    def locked(self, name: str, now: float) -> bool:
        row = self._db.execute("SELECT locked_until FROM failures WHERE key = ?",
                               (f"user:{name}",)).fetchone()
        return bool(row and row[0] is not None and row[0] > now)

    # -- sessions ----------------------------------------------------------------------
    def open_session(self, name: str, now: float, lifetime_s: float) -> tuple[str, Session]:
        """(cookie token, session). Also drops expired sessions."""
        token = secrets.token_urlsafe(32)
        session = Session(name, secrets.token_urlsafe(32), now + lifetime_s)
        self._db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
        self._db.execute("INSERT INTO sessions VALUES (?,?,?,?,?)",
                         (_token_key(token), name, session.csrf, now, session.expires))
        return token, session

    def session(self, token: str | None, now: float) -> Session | None:
        if not token or len(token) > 128:
            return None
        row = self._db.execute(
            "SELECT s.name, s.csrf, s.expires FROM sessions s JOIN users u USING (name) "
            "WHERE s.token_sha256 = ?", (_token_key(token),)).fetchone()
        if row is None or row[2] <= now:
            return None
        return Session(row[0], row[1], row[2])

    def close_session(self, token: str | None) -> None:
        if token:
            self._db.execute("DELETE FROM sessions WHERE token_sha256 = ?",
                             (_token_key(token),))
