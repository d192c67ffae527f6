"""The request audit log's head as the web app last verified it: its own anchor.

Cutting entries off the end of the audit log and rewriting its head file leaves a valid
shorter chain that `AuditLog.verify()` alone cannot tell from the real one. The web app keeps
the (seq, hash) it last saw intact in its own database (a table in the access log's file) and
verifies the log against it on the next view: entry `seq` must still be there with that hash.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL,
    at REAL NOT NULL);
"""


@dataclass(frozen=True)
class SeenHead:
    seq: int
    hash: str
    at: float  # when it was seen intact

    @property
    def anchor(self) -> tuple[int, str]:
        return self.seq, self.hash


class SeenHeads:
    """One row: the newest audit head verified on the Activity page."""

    def __init__(self, db_path: Path) -> None:
        self._db = sqlite3.connect(db_path, isolation_level=None, timeout=10.0)
        self._db.executescript(_SCHEMA)

    def __enter__(self) -> SeenHeads:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._db.close()

    def last(self) -> SeenHead | None:
        row = self._db.execute("SELECT seq, hash, at FROM seen_audit_head").fetchone()
        return None if row is None else SeenHead(int(row[0]), str(row[1]), float(row[2]))

    def remember(self, seq: int, digest: str, at: float) -> None:
        """Move the anchor forward; never back (two views at once may race)."""
        self._db.execute(
            "INSERT INTO seen_audit_head VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "seq = excluded.seq, hash = excluded.hash, at = excluded.at "
            "WHERE excluded.seq >= seen_audit_head.seq", (seq, digest, at))
