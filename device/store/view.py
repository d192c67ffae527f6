"""`ClipView`: the owner app's view of a clip store that the daemon owns.

It never creates the store, never runs start-up recovery and never holds the store's lock
while idle (the daemon's recovery at start needs that lock exclusively). Reads go straight to
the WAL index, which another process may be writing. The two owner actions it allows, hold
and delete, are single index statements; a delete holds the shared lock while it runs, so a
daemon starting meanwhile cannot "recover" a half-deleted clip. Imports no media code.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from device.store import index
from device.store.errors import ClipNotFound, SchemaTooNew, StoreError, StoreIOError
from device.store.files import FILE_MODE, Layout
from device.store.ids import validate_clip_id
from device.store.index import ClipRecord
from device.store.removal import remove_clip


class ClipView:
    """Clips of the store at `root`; an absent store reads as empty. One thread per view."""

    def __init__(self, root: Path) -> None:
        self.layout = Layout(Path(root).expanduser())
        self._conn: sqlite3.Connection | None = None
        if self.layout.index.exists():
            try:
                self._conn = sqlite3.connect(self.layout.index, timeout=index.BUSY_TIMEOUT_S,
                                             isolation_level=None)
                version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            except sqlite3.Error as exc:
                self.close()
                raise StoreIOError(f"cannot read the clip index {self.layout.index}: {exc}"
                                   ) from None
            if version != index.SCHEMA_VERSION:
                self.close()
                if version > index.SCHEMA_VERSION:
                    raise SchemaTooNew(f"the clip index is schema {version}, newer than this "
                                       "doorcam understands; upgrade doorcam")
                raise StoreError(f"the clip index is schema {version}: start the doorcam "
                                 "service once to upgrade it")

    @property
    def root(self) -> Path:
        return self.layout.root

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> ClipView:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def list(self, limit: int | None = None, since: float | None = None,
             label: str | None = None) -> list[ClipRecord]:
        """Clips newest first; `label` keeps those carrying it ("person", "ring", "motion")."""
        return [] if self._conn is None else index.newest_first(self._conn, limit, since,
                                                                 label)

    def labels(self, clip_id: str) -> dict[str, Any]:
        """The clip's labels with their detail (a person's frames and boxes, else None)."""
        rec = self.get(clip_id)
        assert self._conn is not None
        return index.labels_of(self._conn, rec.id)

    def page(self, limit: int, *, before: index.Cursor | None = None,
             after: index.Cursor | None = None, trigger: str | None = None,
             start: float | None = None, end: float | None = None,
             inclusive: bool = False, label: str | None = None
             ) -> builtins.list[ClipRecord]:
        """One page of clips newest first (see `index.page`)."""
        if self._conn is None:
            return []
        return index.page(self._conn, limit, before=before, after=after, trigger=trigger,
                          start=start, end=end, inclusive=inclusive, label=label)

    def count(self, *, newer_than: index.Cursor | None = None, trigger: str | None = None,
              start: float | None = None, end: float | None = None,
              label: str | None = None) -> int:
        if self._conn is None:
            return 0
        return index.count(self._conn, newer_than=newer_than, trigger=trigger, start=start,
                           end=end, label=label)

    def get(self, clip_id: str) -> ClipRecord:
        rec = None if self._conn is None else index.get(self._conn, validate_clip_id(clip_id))
        if rec is None:
            raise ClipNotFound(f"no clip {clip_id} in the store")
        return rec

    def clip_path(self, clip_id: str) -> Path:
        return self.layout.clip(clip_id)

    def thumbnail_path(self, clip_id: str) -> Path:
        return self.layout.thumb(clip_id)

    def totals(self) -> tuple[int, int]:
        """(number of clips, bytes of clip files)."""
        return (0, 0) if self._conn is None else index.totals(self._conn)

    def disk(self) -> shutil._ntuple_diskusage | None:
        """Total/used/free bytes of the store's disk, None if it cannot be read."""
        try:
            return shutil.disk_usage(self.root)
        except OSError:
            return None

    def set_held(self, clip_id: str, held: bool) -> None:
        """Hold a clip (retention never removes it) or release it."""
        if self._conn is None or not index.set_held(self._conn, validate_clip_id(clip_id),
                                                    held):
            raise ClipNotFound(f"no clip {clip_id} in the store")

    def delete(self, clip_id: str) -> None:
        """Remove a clip, its thumbnail and its row, under the store's shared lock."""
        rec = self.get(clip_id)
        assert self._conn is not None
        try:
            with self._shared_lock():
                remove_clip(self._conn, self.layout, rec.id)
        except (OSError, sqlite3.Error) as exc:
            raise StoreIOError(f"deleting clip {rec.id} failed: {exc}") from None

    @contextlib.contextmanager
    def _shared_lock(self) -> Iterator[None]:
        fd = os.open(self.layout.lock, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)
