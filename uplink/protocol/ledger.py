"""Which request ids the device has seen, kept in SQLite so replays are caught across restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

from uplink.errors import RequestRejected
from uplink.protocol.request import MAX_EXPIRY_S

KEEP_S = 2 * MAX_EXPIRY_S + 86400  # > expiry + any configurable clock skew (<= 1 h)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS request_ledger (
    request_id  TEXT PRIMARY KEY,
    first_seen  REAL NOT NULL,
    body_sha256 TEXT NOT NULL
) WITHOUT ROWID
"""


class ReplayGuard(Protocol):
    """What the validator needs from a ledger."""

    def record(self, request_id: str, body_sha256: str, now: float) -> None:
        """Remember the id, or raise `RequestRejected("replayed")` if it was seen before."""
        ...


class RequestLedger:
    """A SQLite table of every request id accepted as authentic, with its body hash."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so check-and-insert is atomic
        # even when two processes share the file.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> RequestLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def seen(self, request_id: str) -> tuple[float, str] | None:
        """(first-seen time, body hash) of a known id, else None."""
        row = self._db.execute(
            "SELECT first_seen, body_sha256 FROM request_ledger WHERE request_id = ?",
            (request_id,)).fetchone()
        return None if row is None else (float(row[0]), str(row[1]))

    def record(self, request_id: str, body_sha256: str, now: float) -> None:
        """Remember the id, or raise `RequestRejected("replayed")` if it was seen before."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            known = self.seen(request_id)
            if known is None:
                self._db.execute(
                    "INSERT INTO request_ledger (request_id, first_seen, body_sha256) "
                    "VALUES (?, ?, ?)", (request_id, now, body_sha256))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if known is not None:
            same = "same body" if known[1] == body_sha256 else "a DIFFERENT body"
            raise RequestRejected(
                "replayed", f"request id first seen at {known[0]:.0f}; this copy has {same}")

    def prune(self, now: float) -> int:
        """Forget ids first seen more than KEEP_S ago; returns how many were dropped.

        Safe because a request can never be valid that long after it first arrived (its
        expiry is at most MAX_EXPIRY_S after issue, issue at most the clock skew ahead): a
        replay of a forgotten id is refused as expired. The margin covers a device clock that
        was set back after the first sighting.
        """
        with self._db:
            gone = self._db.execute("DELETE FROM request_ledger WHERE first_seen < ?",
                                    (now - KEEP_S,)).rowcount
        return int(gone)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM request_ledger").fetchone()[0])
