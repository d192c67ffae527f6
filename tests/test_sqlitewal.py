"""Opening one SQLite file in WAL mode from several connections at once (the daemon's
request feed and upload threads both open the request book as they start)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from common.sqlitewal import connect_wal


def _open_together(path: Path, n: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def one() -> None:
        barrier.wait()
        try:
            connect_wal(path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_new_file_opened_by_four_connections_at_once_opens_for_all(tmp_path: Path) -> None:
    for i in range(60):
        path = tmp_path / f"book-{i}.db"
        assert _open_together(path, 4) == []
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert check.execute("PRAGMA user_version").fetchone()[0] == 0


def test_a_file_locked_for_longer_than_the_timeout_is_refused_as_busy(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            connect_wal(path, timeout=0.2)
        assert caught.value.sqlite_errorcode == sqlite3.SQLITE_BUSY
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    conn = connect_wal(path, timeout=0.2)
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    conn.close()


def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db.db"
    path.write_bytes(b"this is not an SQLite file, and long enough to be read as one" * 20)
    with pytest.raises(sqlite3.DatabaseError) as caught:
        connect_wal(path, timeout=30.0)
    assert caught.value.sqlite_errorcode == sqlite3.SQLITE_NOTADB
