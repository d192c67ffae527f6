"""The SQLite index: schema versions, the clip record and the queries the store runs.

The connection belongs to the thread that opened it (sqlite3's default `check_same_thread`
enforces that); other processes use their own connections, and WAL lets them read while
one writes. Each statement here runs in autocommit mode unless the caller opens a
transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.sqlitewal import connect_wal
from device.store.errors import SchemaTooNew

BUSY_TIMEOUT_S = 10.0

COLUMNS = ("id", "start_wall", "end_wall", "duration", "start_pts", "first_seq", "last_seq",
           "frames", "width", "height", "size", "sha256", "peak_score", "held", "created",
           "cut_short", "trigger", "simulated", "clock_synced", "clock_max_error_ms",
           "clock_est_error_ms")
FLAGS = ("held", "cut_short", "simulated", "clock_synced")  # stored as 0/1
# Added after version 1: a journal written before carries none of these (their defaults).
_LATER: dict[str, Any] = {"cut_short": False, "trigger": "motion", "simulated": False,
                          "clock_synced": True, "clock_max_error_ms": None,
                          "clock_est_error_ms": None}


@dataclass(frozen=True)
class ClipRecord:
    """One row of the `clips` table."""

    id: str
    start_wall: float
    end_wall: float
    duration: float
    start_pts: float
    first_seq: int
    last_seq: int
    frames: int
    width: int
    height: int
    size: int
    sha256: str
    peak_score: float
    held: bool
    created: float
    # Recovered after a power cut or crash: the clip ends where the last fragment on disk
    # ended, not where the recording would have.
    cut_short: bool = False
    # What started the recording: "motion", or "ring" (the doorbell was pressed).
    trigger: str = "motion"
    # From a synthetic scene or a recorded file, not the camera: never evidence.
    simulated: bool = False
    # False when the clip was recorded before the system clock was synchronised: its wall
    # times may be wrong, so it is never matched to an agency's time window.
    clock_synced: bool = True
    # The kernel's bound on the clock's error when the clip opened, and its estimate
    # (milliseconds); None when the clock was not synchronised or its state not known
    # (every clip indexed before these were recorded).
    clock_max_error_ms: int | None = None
    clock_est_error_ms: int | None = None
    # What the clip shows, sorted: its trigger ("motion" or "ring") and "person" when the
    # people stage saw someone in it. Kept in the clip_labels table, not in `clips` nor in
    # the journal, so two records of one clip compare equal whatever labels they carry.
    labels: tuple[str, ...] = dataclasses.field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["labels"] = list(self.labels)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClipRecord:
        values: dict[str, Any] = {name: data[name] for name in COLUMNS if name not in _LATER}
        for name, default in _LATER.items():
            value = data.get(name, default)
            if value is not None:
                value = int(value) if default is None else type(default)(value)
            values[name] = value
        return cls(**values)

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> ClipRecord:
        """A row of `_SELECT`: the clip's columns, then its labels joined by commas."""
        values = dict(zip(COLUMNS, row[:len(COLUMNS)], strict=True))
        for flag in FLAGS:
            values[flag] = bool(values[flag])
        joined = row[len(COLUMNS)] if len(row) > len(COLUMNS) else None
        return cls(**values, labels=tuple(sorted(joined.split(","))) if joined else ())


def _v1_clips(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE clips (id TEXT PRIMARY KEY, start_wall REAL, end_wall REAL, "
        "duration REAL, start_pts REAL, first_seq INT, last_seq INT, frames INT, width INT, "
        "height INT, size INT, sha256 TEXT, peak_score REAL, held INT DEFAULT 0, created REAL)")
    conn.execute("CREATE INDEX clips_start_wall ON clips (start_wall)")


def _v2_cut_short(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE clips ADD COLUMN cut_short INTEGER NOT NULL DEFAULT 0")


def _v3_provenance(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE clips ADD COLUMN trigger TEXT NOT NULL DEFAULT 'motion'")
    conn.execute("ALTER TABLE clips ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE clips ADD COLUMN clock_synced INTEGER NOT NULL DEFAULT 1")


def _v4_clock_error(conn: sqlite3.Connection) -> None:
    # NULL, not known, for every clip indexed before.
    conn.execute("ALTER TABLE clips ADD COLUMN clock_max_error_ms INTEGER")
    conn.execute("ALTER TABLE clips ADD COLUMN clock_est_error_ms INTEGER")


def _v5_labels(conn: sqlite3.Connection) -> None:
    # One row per label of a clip; `detail` is JSON (a person's frames and boxes). Every
    # clip indexed before is labelled with what started it.
    conn.execute("CREATE TABLE clip_labels (clip_id TEXT NOT NULL, label TEXT NOT NULL, "
                 "detail TEXT, PRIMARY KEY (clip_id, label)) WITHOUT ROWID")
    conn.execute("CREATE INDEX clip_labels_label ON clip_labels (label, clip_id)")
    conn.execute("INSERT INTO clip_labels (clip_id, label) SELECT id, trigger FROM clips")


# Schema version N is reached by running MIGRATIONS[:N] in order; to change the schema,
# append a function (never edit a shipped one).
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _v1_clips, _v2_cut_short, _v3_provenance, _v4_clock_error, _v5_labels)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """Open the index, switch it to WAL with full syncs, and bring the schema up to date."""
    conn = connect_wal(path, timeout=BUSY_TIMEOUT_S)
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: tuple[Callable[..., None], ...] = MIGRATIONS
            ) -> int:
    """Run the migrations this index lacks, each in its own transaction; the new version."""
    version = _version(conn)
    if version > len(migrations):
        raise SchemaTooNew(f"index schema version {version} is newer than this doorcam "
                           f"understands ({len(migrations)}); upgrade doorcam")
    while version < len(migrations):
        with transaction(conn):
            version = _version(conn)  # another process may have migrated meanwhile
            if version < len(migrations):
                migrations[version](conn)
                version += 1
                conn.execute(f"PRAGMA user_version = {version:d}")
    return version


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


_SELECT = (f"SELECT {', '.join(COLUMNS)}, (SELECT group_concat(label) FROM clip_labels "
           "WHERE clip_id = clips.id) FROM clips")
LABEL = re.compile(r"[a-z][a-z0-9_]{0,31}")


def insert(conn: sqlite3.Connection, rec: ClipRecord) -> None:
    """The clip's row, labelled with its trigger and any labels it already carries."""
    marks = ", ".join("?" for _ in COLUMNS)
    values = [getattr(rec, name) for name in COLUMNS]
    for flag in FLAGS:
        values[COLUMNS.index(flag)] = int(getattr(rec, flag))
    with contextlib.ExitStack() as stack:
        if not conn.in_transaction:
            stack.enter_context(transaction(conn))
        conn.execute(f"INSERT INTO clips ({', '.join(COLUMNS)}) VALUES ({marks})", values)
        for label in {rec.trigger, *rec.labels}:
            conn.execute("INSERT OR IGNORE INTO clip_labels (clip_id, label) VALUES (?, ?)",
                         (rec.id, label))


def add_label(conn: sqlite3.Connection, clip_id: str, label: str,
              detail: dict[str, Any] | None = None) -> bool:
    """Label an indexed clip (a label it has already gets the new detail); False if there
    is no such clip."""
    if not LABEL.fullmatch(label):
        raise ValueError(f"label {label!r}: lower-case letters, digits and _ only")
    text = None if detail is None else json.dumps(detail, separators=(",", ":"))
    with contextlib.ExitStack() as stack:
        if not conn.in_transaction:
            stack.enter_context(transaction(conn))
        if conn.execute("SELECT 1 FROM clips WHERE id = ?", (clip_id,)).fetchone() is None:
            return False
        conn.execute("INSERT INTO clip_labels (clip_id, label, detail) VALUES (?, ?, ?) "
                     "ON CONFLICT (clip_id, label) DO UPDATE SET detail = excluded.detail",
                     (clip_id, label, text))
    return True


def labels_of(conn: sqlite3.Connection, clip_id: str) -> dict[str, Any]:
    """A clip's labels and their detail (None, or what `add_label` was given)."""
    rows = conn.execute("SELECT label, detail FROM clip_labels WHERE clip_id = ? "
                        "ORDER BY label", (clip_id,))
    return {str(label): None if detail is None else json.loads(detail)
            for label, detail in rows}


def get(conn: sqlite3.Connection, clip_id: str) -> ClipRecord | None:
    row = conn.execute(f"{_SELECT} WHERE id = ?", (clip_id,)).fetchone()
    return ClipRecord.from_row(row) if row else None


def newest_first(conn: sqlite3.Connection, limit: int | None, since: float | None,
                 label: str | None = None) -> list[ClipRecord]:
    """Clips newest first; `since` a Unix time, `label` only the clips carrying it."""
    sql = _SELECT
    where, args = _where(None, since, None, label)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY start_wall DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(max(0, limit))
    return [ClipRecord.from_row(r) for r in conn.execute(sql, args)]


Cursor = tuple[float, str]  # (start_wall, id): a place in the newest-first order


def _where(trigger: str | None, start: float | None, end: float | None,
           label: str | None = None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if trigger is not None:
        where.append("trigger = ?")
        args.append(trigger)
    if label is not None:  # the people stage's labels (the clip_labels table)
        where.append("id IN (SELECT clip_id FROM clip_labels WHERE label = ?)")
        args.append(label)
    if start is not None:
        where.append("start_wall >= ?")
        args.append(start)
    if end is not None:
        where.append("start_wall < ?")
        args.append(end)
    return where, args


def page(conn: sqlite3.Connection, limit: int, *, before: Cursor | None = None,
         after: Cursor | None = None, trigger: str | None = None, start: float | None = None,
         end: float | None = None, inclusive: bool = False, label: str | None = None
         ) -> list[ClipRecord]:
    """Up to `limit` clips newest first, older than `before` (or that clip itself too,
    `inclusive`) or else newer than `after` (keyset pagination on the start_wall index: a
    page costs the same deep in a big store), optionally only those a `trigger` started and
    starting in [start, end), or carrying a `label`."""
    where, args = _where(trigger, start, end, label)
    order = "DESC"
    if before is not None:
        where.append(f"(start_wall, id) {'<=' if inclusive else '<'} (?, ?)")
        args.extend(before)
    elif after is not None:
        where.append("(start_wall, id) > (?, ?)")
        args.extend(after)
        order = "ASC"  # the nearest newer ones, then turned newest first
    sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "")
    sql += f" ORDER BY start_wall {order}, id {order} LIMIT ?"
    rows = [ClipRecord.from_row(r) for r in conn.execute(sql, [*args, max(0, limit)])]
    return rows[::-1] if order == "ASC" else rows


def count(conn: sqlite3.Connection, *, newer_than: Cursor | None = None,
          trigger: str | None = None, start: float | None = None,
          end: float | None = None, label: str | None = None) -> int:
    """How many clips match (and are newer than `newer_than`): ranges on the index."""
    where, args = _where(trigger, start, end, label)
    if newer_than is not None:
        where.append("(start_wall, id) > (?, ?)")
        args.extend(newer_than)
    sql = "SELECT COUNT(*) FROM clips" + (f" WHERE {' AND '.join(where)}" if where else "")
    return int(conn.execute(sql, args).fetchone()[0])


def prunable_oldest_first(conn: sqlite3.Connection) -> Iterator[tuple[str, float, int]]:
    """(id, start_wall, size) of every clip that is not held, oldest first."""
    rows = conn.execute("SELECT id, start_wall, size FROM clips WHERE held = 0 "
                        "ORDER BY start_wall ASC, id ASC").fetchall()
    for clip_id, start, size in rows:
        yield str(clip_id), float(start or 0.0), int(size or 0)


def all_ids(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT id FROM clips")}


def delete_row(conn: sqlite3.Connection, clip_id: str) -> bool:
    with contextlib.ExitStack() as stack:
        if not conn.in_transaction:
            stack.enter_context(transaction(conn))
        conn.execute("DELETE FROM clip_labels WHERE clip_id = ?", (clip_id,))
        return conn.execute("DELETE FROM clips WHERE id = ?", (clip_id,)).rowcount > 0


def set_held(conn: sqlite3.Connection, clip_id: str, held: bool) -> bool:
    cur = conn.execute("UPDATE clips SET held = ? WHERE id = ?", (int(held), clip_id))
    return cur.rowcount > 0


def totals(conn: sqlite3.Connection) -> tuple[int, int]:
    count, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM clips").fetchone()
    return int(count), int(size)
