"""Which request ids the device has seen, kept in SQLite so replays are caught across restarts.

Looking an id up (`ReplayGuard.seen`, what the validator does) and claiming it (`claim`, done
by whoever stores the request, inside the transaction that stores it) are separate steps, so
checking a request has no side effects and a claimed id always comes with its stored request.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final, Protocol

from common.sqlitewal import connect_wal
from uplink.errors import RequestRejected
from uplink.protocol.request import MAX_EXPIRY_S

KEEP_S = 2 * MAX_EXPIRY_S + 86400  # > expiry + any configurable clock skew (<= 1 h)

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS request_ledger (
    request_id  TEXT PRIMARY KEY,
    first_seen  REAL NOT NULL,
    body_sha256 TEXT NOT NULL
) WITHOUT ROWID
"""


class ReplayGuard(Protocol):
    """What the validator needs from a ledger: a lookup, nothing written."""

    def seen(self, request_id: str) -> tuple[float, str] | None:
        """(first-seen time, body hash) of a known id, else None."""
        ...


def replayed(known: tuple[float, str], body_sha256: str) -> RequestRejected:
    """The refusal of an id seen before, saying whether this copy's body is the same."""
    same = "same body" if known[1] == body_sha256 else "a DIFFERENT body"
    return RequestRejected(
        "replayed", f"request id first seen at {known[0]:.0f}; this copy has {same}")


def seen(db: sqlite3.Connection, request_id: str) -> tuple[float, str] | None:
    """(first-seen time, body hash) of a known id in `db`'s ledger table, else None."""
    row = db.execute("SELECT first_seen, body_sha256 FROM request_ledger WHERE request_id = ?",
                     (request_id,)).fetchone()
    return None if row is None else (float(row[0]), str(row[1]))


def claim(db: sqlite3.Connection, request_id: str, body_sha256: str, now: float) -> None:
    """Record the id, or raise `RequestRejected("replayed")` if it was seen before. Call it in
    the caller's write transaction (BEGIN IMMEDIATE), so the check and the insert are one."""
    known = seen(db, request_id)
    if known is not None:
        raise replayed(known, body_sha256)
    db.execute("INSERT INTO request_ledger (request_id, first_seen, body_sha256) "
               "VALUES (?, ?, ?)", (request_id, now, body_sha256))


def prune(db: sqlite3.Connection, now: float) -> int:
    """Forget ids first seen more than KEEP_S ago; returns how many were dropped.

    Safe because a request can never be valid that long after it first arrived (its expiry
    is at most MAX_EXPIRY_S after issue, issue at most the clock skew ahead): a replay of a
    forgotten id is refused as expired. The margin covers a device clock that was set back
    after the first sighting.
    """
    return int(db.execute("DELETE FROM request_ledger WHERE first_seen < ?",
                          (now - KEEP_S,)).rowcount)


class RequestLedger:
    """The ledger table on its own connection, for a caller that stores nothing else (the
    request desk keeps the table in its request book and claims ids there)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so check-and-insert is atomic
        # even when two processes share the file.
        self._db = connect_wal(self.path)
        self._db.execute(SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> RequestLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def seen(self, request_id: str) -> tuple[float, str] | None:
        """(first-seen time, body hash) of a known id, else None."""
        return seen(self._db, request_id)

    def record(self, request_id: str, body_sha256: str, now: float) -> None:
        """Remember the id, or raise `RequestRejected("replayed")` if it was seen before."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            claim(self._db, request_id, body_sha256, now)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def prune(self, now: float) -> int:
        """Forget ids no request could still use (see `prune`); returns how many."""
        with self._db:
            return prune(self._db, now)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM request_ledger").fetchone()[0])
