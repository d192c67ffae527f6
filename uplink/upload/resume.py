"""Where an interrupted upload is remembered, so a restart resumes instead of resending."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ResumeState:
    """An upload URL on the server and how far it got, for one file (by size and hash)."""

    url: str
    offset: int
    sha256: str
    size: int


class ResumeStore(Protocol):
    """Keyed resume states; `save` must be durable when it returns."""

    def load(self, key: str) -> ResumeState | None: ...

    def save(self, key: str, state: ResumeState) -> None: ...

    def clear(self, key: str) -> None: ...


class SqliteResumeStore:
    """`ResumeStore` in its own table `tus_uploads` of an SQLite file (may be shared)."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        with closing(self._connect()) as db, db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS tus_uploads ("
                " key TEXT PRIMARY KEY, url TEXT NOT NULL, offset INTEGER NOT NULL,"
                " sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
                " updated TEXT NOT NULL DEFAULT (datetime('now')))")

    def _connect(self) -> sqlite3.Connection:
        # A connection per call: callers may be on different threads, and calls are rare
        # (one per chunk), so there is nothing worth pooling.
        return sqlite3.connect(self._path, timeout=10.0)

    def load(self, key: str) -> ResumeState | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT url, offset, sha256, size FROM tus_uploads WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else ResumeState(str(row[0]), int(row[1]), str(row[2]),
                                                    int(row[3]))

    def save(self, key: str, state: ResumeState) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO tus_uploads (key, url, offset, sha256, size) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET url = excluded.url, offset = excluded.offset,"
                " sha256 = excluded.sha256, size = excluded.size, updated = datetime('now')",
                (key, state.url, state.offset, state.sha256, state.size))

    def clear(self, key: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM tus_uploads WHERE key = ?", (key,))
