"""`ClipStore`: a directory of clips plus a SQLite index; the recorder's `ClipSink`.

One thread owns a ClipStore (its SQLite connection refuses other threads). Other processes
open their own instance: every open instance holds a shared flock on `<root>/lock`, and
start-up recovery runs only when an instance can take that lock exclusively, so a
`doorcam clips list` never "recovers" the files a running recorder is still writing.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from capture.recording.sink import ClipHandle, ClipMeta
from common import fsync_dir, sha256_file, sha256_file_and_size
from config import StoreConfig
from device.store import files, index, retention
from device.store.errors import (
    ClipNotFound,
    ExportExists,
    IntegrityError,
    NotAStore,
    StoreError,
    StoreFull,
    StoreIOError,
)
from device.store.files import FILE_MODE, Layout
from device.store.ids import new_clip_id, validate_clip_id
from device.store.index import ClipRecord
from device.store.reconcile import ReconcileReport, reconcile
from device.store.removal import remove_clip
from device.store.retention import DiskUsage

log = logging.getLogger(__name__)
Records = list[ClipRecord]
_SQLITE_FULL = 13


def _failure(action: str, exc: BaseException) -> StoreError:
    """A one-line StoreError for an OSError or sqlite3.Error raised while doing `action`."""
    if isinstance(exc, StoreError):
        return exc
    if files.is_disk_full(exc) or getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL:
        return StoreFull(f"disk full while {action}; free space or lower store.max_size_mb")
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return StoreIOError(f"{action} failed: {exc.strerror or exc}{where}")
    return StoreError(f"{action} failed: index error: {exc}")


class ClipStore:
    """Clips under `<cfg.path>/clips`, thumbnails, and the index; see `files.Layout`."""

    def __init__(self, cfg: StoreConfig, *, disk_usage: DiskUsage = shutil.disk_usage,
                 recover: bool = True) -> None:
        self.layout = Layout(Path(cfg.path).expanduser())
        self.limits = retention.Limits.from_config(cfg)
        self._disk_usage = disk_usage
        self._pending: set[str] = set()  # begun, not yet committed or aborted
        self._lock_fd = -1
        try:
            why = self.layout.not_a_store()
            if why:
                raise NotAStore(why)
            self.layout.create()
            self._lock_fd = os.open(self.layout.lock, os.O_RDWR | os.O_CREAT, FILE_MODE)
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
            self._conn = index.connect(self.layout.index)
        except (OSError, sqlite3.Error) as exc:
            self._release_lock()
            raise _failure(f"opening the clip store at {self.layout.root}", exc) from None
        except BaseException:
            self._release_lock()
            raise
        try:
            self.recovery = self.reconcile() if recover else ReconcileReport(skipped=True)
        except BaseException:
            self.close()
            raise

    @property
    def root(self) -> Path:
        return self.layout.root

    def close(self) -> None:
        self._conn.close()
        self._release_lock()

    def __enter__(self) -> ClipStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _release_lock(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    # -- recovery and retention -------------------------------------------------------

    def reconcile(self) -> ReconcileReport:
        """Start-up recovery (see `reconcile.py`); skipped if another process has the store."""
        if self._pending:
            raise StoreError("cannot reconcile while a clip is being recorded")
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise _failure("locking the store", exc) from None
            # A failed upgrade drops the shared lock (flock(2)); take it back.
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
            # Expected for every opener after the first (the daemon's own threads); the one
            # that matters, at the daemon's start, is reported by `doorcam run`.
            log.debug("store %s is open elsewhere; recovery skipped", self.root)
            return ReconcileReport(skipped=True)
        try:
            return reconcile(self._conn, self.layout)
        except (OSError, sqlite3.Error) as exc:
            raise _failure("recovering the store", exc) from None
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH)

    def prune(self, now: float | None = None) -> list[str]:
        """Apply retention (age, size quota, free space), oldest first; the removed ids."""
        now = time.time() if now is None else now
        try:
            free = (self._disk_usage(self.root).free
                    if retention.wants_free_space(self.limits) else None)
            plan = retention.plan(index.prunable_oldest_first(self._conn), limits=self.limits,
                                  now=now, total_bytes=index.totals(self._conn)[1],
                                  free_bytes=free)
            for clip_id in plan.remove:
                self._remove(clip_id)
                log.info("retention: removed clip %s", clip_id)
        except (OSError, sqlite3.Error) as exc:
            raise _failure("applying retention", exc) from None
        if plan.over_quota or plan.low_space:
            log.warning("retention: limits still not met after removing %d clip(s); "
                        "the rest are held", len(plan.remove))
        return plan.remove

    def free_space_check(self, reserve_bytes: int = 0) -> bool:
        """True if the disk keeps `min_free_mb` free after writing `reserve_bytes` more."""
        try:
            free = self._disk_usage(self.root).free
        except OSError as exc:
            raise _failure("checking free space", exc) from None
        return free - reserve_bytes >= self.limits.min_free_bytes

    # -- ClipSink -----------------------------------------------------------------------

    def begin(self) -> ClipHandle:
        """A new clip id and the temp path the recorder writes its MP4 to."""
        clip_id = new_clip_id()
        while clip_id in self._pending or self.layout.clip(clip_id).exists():
            clip_id = new_clip_id()
        self._pending.add(clip_id)
        lay = self.layout
        return ClipHandle(clip_id, lay.tmp_clip(clip_id), opened_path=lay.opened(clip_id))

    def commit(self, handle: ClipHandle, meta: ClipMeta) -> None:
        """Make the clip durable (hash, fsync, rename, fsync dir), then index it."""
        clip_id = self._take(handle)
        lay, renamed = self.layout, False
        try:
            sha, size = sha256_file_and_size(lay.tmp_clip(clip_id), fsync=True)
            rec = ClipRecord(
                id=clip_id, start_wall=meta.start_wall, end_wall=meta.end_wall,
                duration=meta.duration, start_pts=meta.start_pts, first_seq=meta.first_seq,
                last_seq=meta.last_seq, frames=meta.frames, width=meta.width,
                height=meta.height, size=size, sha256=sha, peak_score=meta.peak_score,
                held=False, created=time.time(), trigger=meta.trigger,
                simulated=meta.simulated, clock_synced=meta.clock_synced,
                clock_max_error_ms=meta.clock_max_error_ms,
                clock_est_error_ms=meta.clock_est_error_ms)
            files.write_synced(lay.tmp_thumb(clip_id), meta.thumbnail_jpeg)
            files.write_synced(lay.journal(clip_id), json.dumps(rec.to_json()).encode())
            fsync_dir(lay.tmp)
            os.replace(lay.tmp_thumb(clip_id), lay.thumb(clip_id))
            os.replace(lay.tmp_clip(clip_id), lay.clip(clip_id))
            renamed = True
            fsync_dir(lay.thumbs)
            fsync_dir(lay.clips)
            index.insert(self._conn, rec)
        except (OSError, sqlite3.Error) as exc:
            if not renamed:
                self._discard(clip_id)
                if (isinstance(exc, FileNotFoundError)
                        and exc.filename == str(lay.tmp_clip(clip_id))):
                    raise StoreIOError(f"clip {clip_id}: the recorder wrote no file") from None
                raise _failure(f"storing clip {clip_id}", exc) from None
            # The clip is durable and journaled: the next start-up indexes it.
            raise StoreIOError(f"clip {clip_id} saved but not indexed "
                             f"({_failure('indexing', exc)}); it is indexed at next start"
                             ) from None
        except BaseException:
            if not renamed:
                self._discard(clip_id)
            raise
        files.remove_all(lay.journal(clip_id), lay.opened(clip_id))

    def abort(self, handle: ClipHandle) -> None:
        """Forget a begun clip and remove its temp files; a no-op if it is not in progress."""
        # The recorder aborts after any failure, including a commit that already cleaned up.
        clip_id = validate_clip_id(handle.id)
        if clip_id in self._pending:
            self._discard(self._take(handle))

    def _take(self, handle: ClipHandle) -> str:
        clip_id = validate_clip_id(handle.id)
        if clip_id not in self._pending or handle.tmp_path != self.layout.tmp_clip(clip_id):
            raise StoreError(f"clip {clip_id} is not in progress in this store")
        self._pending.discard(clip_id)
        return clip_id

    def _discard(self, clip_id: str) -> None:
        lay = self.layout
        files.remove_all(lay.tmp_clip(clip_id), lay.tmp_thumb(clip_id), lay.journal(clip_id),
                         lay.thumb(clip_id), lay.opened(clip_id))

    # -- queries and owner actions --------------------------------------------------------

    def get(self, clip_id: str) -> ClipRecord:
        rec = index.get(self._conn, validate_clip_id(clip_id))
        if rec is None:
            raise ClipNotFound(f"no clip {clip_id} in the store")
        return rec

    def exists(self, clip_id: str) -> bool:
        return index.get(self._conn, validate_clip_id(clip_id)) is not None

    def clip_path(self, clip_id: str) -> Path:
        return self.layout.clip(clip_id)

    def thumbnail_path(self, clip_id: str) -> Path:
        return self.layout.thumb(clip_id)

    def totals(self) -> tuple[int, int]:
        """(number of clips, bytes of clip files)."""
        return index.totals(self._conn)

    def set_held(self, clip_id: str, held: bool) -> None:
        """Hold a clip (retention never removes it) or release it."""
        if not index.set_held(self._conn, validate_clip_id(clip_id), held):
            raise ClipNotFound(f"no clip {clip_id} in the store")

    def delete(self, clip_id: str) -> None:
        """Remove a clip, its thumbnail and its row (held or not: the owner asked)."""
        self.get(clip_id)
        try:
            self._remove(clip_id)
        except (OSError, sqlite3.Error) as exc:
            raise _failure(f"deleting clip {clip_id}", exc) from None

    def _remove(self, clip_id: str) -> None:
        remove_clip(self._conn, self.layout, clip_id)

    def verify(self, clip_id: str) -> bool:
        """Recompute the clip's SHA-256; False if it differs or the file is gone."""
        rec = self.get(clip_id)
        try:
            return sha256_file(self.clip_path(rec.id)) == rec.sha256
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _failure(f"reading clip {clip_id}", exc) from None

    def export(self, clip_id: str, dest: Path, overwrite: bool = False) -> Path:
        """Copy a clip to `dest`, verified by SHA-256; refuses to overwrite unless told."""
        rec = self.get(clip_id)
        dest = Path(dest).expanduser()
        if (dest.parent.resolve() / dest.name).is_relative_to(self.root.resolve()):
            # Even with overwrite: its index, a clip or a key would be replaced.
            raise StoreError(f"{dest} is inside the clip store {self.root}: export to a "
                             "place outside it")
        if not overwrite and (dest.exists() or dest.is_symlink()):
            raise ExportExists(f"{dest} already exists; not overwriting it")
        part = dest.with_name(f".{dest.name}.{rec.id}{files.PART}")
        try:
            digest = files.copy_synced(self.clip_path(rec.id), part, overwrite=True)
            if digest != rec.sha256:
                files.remove_all(part)
                raise IntegrityError(f"clip {rec.id}: the copy does not match the recorded "
                                     "SHA-256 (the stored clip is damaged); nothing exported")
            os.replace(part, dest)
            fsync_dir(dest.parent)
        except OSError as exc:
            files.remove_all(part)
            raise _failure(f"exporting clip {rec.id} to {dest}", exc) from None
        return dest

    def list(self, limit: int | None = None, since: float | None = None,
             label: str | None = None) -> Records:
        """Clips newest first; `since` keeps those starting at or after that Unix time,
        `label` those carrying that label ("person", "ring", "motion")."""
        return index.newest_first(self._conn, limit, since, label)

    def add_label(self, clip_id: str, label: str, detail: dict[str, Any] | None = None
                  ) -> None:
        """Label a stored clip ("person", with the frames and boxes in `detail`)."""
        try:
            found = index.add_label(self._conn, validate_clip_id(clip_id), label, detail)
        except sqlite3.Error as exc:
            raise _failure(f"labelling clip {clip_id}", exc) from None
        if not found:
            raise ClipNotFound(f"no clip {clip_id} in the store")

    def labels(self, clip_id: str) -> dict[str, Any]:
        """The clip's labels with their detail (a person's frames and boxes, else None)."""
        return index.labels_of(self._conn, self.get(clip_id).id)
