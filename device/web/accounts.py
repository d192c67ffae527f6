"""Household accounts, login lockout and sessions, in one small SQLite file.

Passwords: scrypt (memory-hard, stdlib) with a per-user random salt; the parameters are
stored with each hash so they can be raised later. Sessions: a random token in an HttpOnly
cookie; only its SHA-256 is stored, with the session's CSRF token and expiry.

Failed password logins pause guessing without handing a guesser the owner's door (OWASP's
"device cookie" pattern). A successful login gives the browser a device cookie: signed (HMAC
with a key kept here) for that account and the password it signed in with. An attempt with
a valid device cookie is counted against that cookie only; any other attempt is counted
against its source address and against the account, for browsers the account does not
know. Reaching the limit pauses that one key for a while, so a stranger's guesses pause
strangers, never the owner's own browsers. The counts survive restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType

from common.sqlitewal import connect_wal

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
CREATE TABLE IF NOT EXISTS device_key (
    id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL);
"""
DEVICE_COOKIE_DAYS = 400  # the longest a browser keeps a cookie
# One password check at a time in the process: each takes 8 MiB, and a burst of them in
# parallel would both outgrow the web process and all pass the pause check before the
# first failure is counted (a guesser's burst would get more tries than the limit).
_CHECKING = threading.Lock()


class AccountError(Exception):
    """A refused account operation; the message is one line for the user."""


class Pause(StrEnum):
    """What a run of failed logins pauses."""

    SOURCE = "source"  # password logins from one source address
    ACCOUNT = "account"  # password logins to one account from browsers it does not know
    DEVICE = "device"  # password logins from one browser that signed in before


class LockedOut(AccountError):
    """Refused without a password check: `pause` holds for `seconds` more; `refused` counts
    the attempts it has refused so far (1: the first)."""

    def __init__(self, seconds: float, pause: Pause, refused: int = 1) -> None:
        minutes = max(1, round(seconds / 60))
        super().__init__(f"Too many failed logins: try again in {minutes} minute"
                         f"{'s' if minutes != 1 else ''}.")
        self.seconds = seconds
        self.pause = pause
        self.refused = refused


@dataclass(frozen=True)
class Attempt:
    """One way in, as it is counted: the account it names, its source (`sources.
    source_key`), and the device cookie it carries for that account, if any."""

    name: str | None
    source: str
    device_cookie: str | None = None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    known_device: bool  # the attempt carried a valid device cookie for its account
    paused: tuple[Pause, ...]  # what this failure has just paused


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


def _key(pause: Pause, value: str) -> str:
    return f"{pause.value}:{value[:64]}"


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class Accounts:
    """One connection; use from one thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._db = connect_wal(path)
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
            self._db.execute("DELETE FROM failures WHERE key = ?",
                             (_key(Pause.ACCOUNT, name),))
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
    def login(self, attempt: Attempt, password: str, now: float, *, limit: int,
              lockout_s: float) -> Outcome:
        """Whether the password is right, and what a failure paused. Raises LockedOut
        (without checking the password) while what the attempt is counted by is paused."""
        with _CHECKING:
            return self._login(attempt, password, now, limit=limit, lockout_s=lockout_s)

    def _login(self, attempt: Attempt, password: str, now: float, *, limit: int,
               lockout_s: float) -> Outcome:
        assert attempt.name is not None
        device = self._device_nonce(attempt)
        self._refuse_if_paused(self._counters(attempt, device), now)
        row = self._db.execute("SELECT salt, hash, n, r, p FROM users WHERE name = ?",
                               (attempt.name,)).fetchone()
        if row is None:  # same work as a real check, so timing does not reveal names
            _hash(password, _DUMMY_SALT, SCRYPT_N, SCRYPT_R, SCRYPT_P)
            ok = False
        else:
            salt, digest, n, r, p = row
            ok = hmac.compare_digest(_hash(password, salt, n, r, p), digest)
        paused: tuple[Pause, ...] = ()
        if ok:
            self._forget(attempt, device)
        else:
            paused = self._count(self._counters(attempt, device), now, limit, lockout_s)
        return Outcome(ok, device is not None, paused)

    @staticmethod
    def _counters(attempt: Attempt, device: str | None) -> list[tuple[Pause, str]]:
        if device is not None:
            return [(Pause.DEVICE, device)]
        named = [(Pause.ACCOUNT, attempt.name)] if attempt.name else []
        return [(Pause.SOURCE, attempt.source), *named]

    def _refuse_if_paused(self, counters: list[tuple[Pause, str]], now: float) -> None:
        for pause, value in counters:
            key = _key(pause, value)
            row = self._db.execute("SELECT locked_until, count FROM failures WHERE key = ?",
                                   (key,)).fetchone()
            if row and row[0] is not None and row[0] > now:
                # While paused, `count` counts the attempts refused.
                self._db.execute("UPDATE failures SET count = count + 1 WHERE key = ?", (key,))
                raise LockedOut(row[0] - now, pause, int(row[1]) + 1)

    def _count(self, counters: list[tuple[Pause, str]], now: float, limit: int,
               lockout_s: float) -> tuple[Pause, ...]:
        paused = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # Failures older than a pause are forgotten, as are pauses that are over.
            self._db.execute("DELETE FROM failures WHERE last <= ? AND "
                             "(locked_until IS NULL OR locked_until <= ?)",
                             (now - lockout_s, now))
            for pause, value in counters:
                key = _key(pause, value)
                row = self._db.execute("SELECT count, locked_until FROM failures "
                                       "WHERE key = ?", (key,)).fetchone()
                over = row is None or (row[1] is not None and row[1] <= now)
                count = 1 if over else int(row[0]) + 1
                locked = now + lockout_s if count >= limit else None
                if locked is not None:
                    paused.append(pause)
                self._db.execute("INSERT OR REPLACE INTO failures VALUES (?,?,?,?)",
                                 (key, 0 if locked is not None else count, now, locked))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return tuple(paused)

    def _forget(self, attempt: Attempt, device: str | None) -> None:
        """A right password: the browser's or the source's count starts again (not the
        account's: the owner signing in must not hand a guesser fresh tries)."""
        pause, value = (Pause.DEVICE, device) if device else (Pause.SOURCE, attempt.source)
        self._db.execute("DELETE FROM failures WHERE key = ?", (_key(pause, value),))

    # -- device cookies ----------------------------------------------------------------
    def _device_key(self) -> bytes:
        """The key device cookies are signed with, made on first use."""
        row = self._db.execute("SELECT key FROM device_key").fetchone()
        if row is None:
            self._db.execute("INSERT OR IGNORE INTO device_key VALUES (1, ?)",
                             (secrets.token_bytes(32),))
            row = self._db.execute("SELECT key FROM device_key").fetchone()
        return bytes(row[0])

    def _device_mac(self, name: str, nonce: str) -> str | None:
        row = self._db.execute("SELECT changed FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        # Bound to the password's last change: a new password makes every browser a
        # stranger again (it may have been changed because one was lost).
        message = f"{name}\0{row[0]!r}\0{nonce}".encode()
        return hmac.new(self._device_key(), message, hashlib.sha256).hexdigest()[:43]

    def device_cookie(self, name: str) -> str:
        """A new device cookie's value for a browser that has just signed in to `name`."""
        nonce = secrets.token_urlsafe(18)
        mac = self._device_mac(name, nonce)
        if mac is None:
            raise AccountError(f"no account {name!r}")
        return f"{nonce}.{mac}"

    def _device_nonce(self, attempt: Attempt) -> str | None:
        """The nonce of the attempt's device cookie if it is valid for its account."""
        value = attempt.device_cookie
        if not attempt.name or not value or len(value) > 100 or value.count(".") != 1:
            return None
        nonce, mac = value.split(".")
        expected = self._device_mac(attempt.name, nonce)
        if expected is None or not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        return nonce

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
