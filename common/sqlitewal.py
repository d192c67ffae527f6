"""Opening an SQLite file in WAL mode from several threads or processes at once.

Switching a file to WAL needs a lock that SQLite does not wait for with the busy timeout:
two connections opening a new file together make one fail at once with "database is
locked". The switch is therefore retried here, for as long as the busy timeout allows.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

RETRY_S = 0.01


def connect_wal(path: Path | str, *, timeout: float = 10.0) -> sqlite3.Connection:
    """An autocommit connection (callers issue their own BEGIN IMMEDIATE) to `path` in WAL
    mode with full syncs; sqlite3.OperationalError once `timeout` has passed without getting
    the lock."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY \
                        or time.monotonic() >= deadline:
                    raise
                time.sleep(RETRY_S)
        conn.execute("PRAGMA synchronous=FULL")
    except BaseException:
        conn.close()
        raise
    return conn

