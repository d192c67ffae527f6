"""Start-up recovery: bring the files and the index back into agreement after a crash.

Commit order is: clip and thumbnail in tmp/ → journal (the index row as JSON) in tmp/ →
rename thumbnail, rename clip into clips/ → insert the row → remove the journal. Delete
order is: rename the clip into tmp/<id>.mp4.deleted → delete the row → remove the files.
So after a crash, for each kind of leftover:

- a row whose clip is missing but whose `.deleted` file exists: an interrupted delete;
  it is finished (INFO);
- a row whose clip is missing otherwise: the footage is gone; the row is dropped (WARNING);
- a clip (in clips/, or still in tmp/) with a journal whose SHA-256 matches: a commit
  interrupted before its row was inserted; it is renamed if need be and re-indexed with
  its full metadata (INFO);
- any other file in clips/ without a row: moved with its thumbnail to orphans/ for the
  owner to inspect (WARNING). Renamed footage is never deleted here;
- a clip the recorder noted as opened, still in tmp/ without a journal (recording was
  cut short): its complete fragments are indexed as a clip marked cut short (WARNING), or
  the file goes to orphans/ if nothing in it decodes (see salvage.py);
- thumbnails without an indexed clip are removed, and so is everything else in tmp/.

Before any of that: an index listing several clips, none being deleted, beside an empty
clips/ is a disk that is not mounted (or an index restored without its clips), not footage
lost one clip at a time; recovery then changes nothing and says so (ClipsMissing).
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from common import fsync_dir, sha256_file
from device.store import files, index, salvage
from device.store.errors import ClipsMissing
from device.store.files import DIR_MODE, JOURNAL, Layout, unlink_quiet
from device.store.ids import is_clip_id

log = logging.getLogger(__name__)
MISSING_ALL = 2  # indexed clips, every one missing beside an empty clips/: not lost one by one


@dataclass
class ReconcileReport:
    """What start-up recovery found and did (counts)."""

    temp_removed: int = 0
    deletes_finished: int = 0
    rows_dropped: int = 0
    reindexed: int = 0
    orphans_moved: int = 0
    thumbs_removed: int = 0
    cut_short_indexed: int = 0
    skipped: bool = False  # another process had the store open, so nothing was checked

    @property
    def changed(self) -> bool:
        return any(v for k, v in asdict(self).items() if k != "skipped")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if self.skipped:
            return "recovery skipped: the store is open in another process"
        parts = [f"{v} {k.replace('_', ' ')}" for k, v in asdict(self).items()
                 if k != "skipped" and v]
        return "recovery: " + (", ".join(parts) if parts else "store consistent")


def reconcile(conn: sqlite3.Connection, layout: Layout) -> ReconcileReport:
    """Run every recovery step; the caller holds the store's exclusive lock."""
    _check_clips_there(conn, layout)
    report = ReconcileReport()
    indexed = _rows_without_files(conn, layout, report)
    _finish_renames(layout)
    _files_without_rows(conn, layout, indexed, report)
    _clips_cut_short(conn, layout, indexed, report)
    for thumb in sorted(layout.thumbs.glob("*.jpg")):
        if thumb.stem not in indexed and unlink_quiet(thumb):
            report.thumbs_removed += 1
    for leftover in sorted(layout.tmp.iterdir()):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            unlink_quiet(leftover)
        report.temp_removed += 1
    if report.changed:
        for d in (layout.clips, layout.thumbs, layout.tmp):
            fsync_dir(d)
        log.info("%s", report.summary())
    return report


def _check_clips_there(conn: sqlite3.Connection, layout: Layout) -> None:
    ids = [i for i in index.all_ids(conn) if is_clip_id(i)]
    if len(ids) < MISSING_ALL or any(layout.clips.iterdir()):
        return
    if any(layout.deleting(i).exists() for i in ids):
        return
    raise ClipsMissing(
        f"the index lists {len(ids)} clips but {layout.clips} is empty: if the clips are on "
        f"a disk that is not mounted, mount it; if they are gone for good, move "
        f"{layout.index} aside (a new, empty index is started). Nothing was changed")


def _rows_without_files(conn: sqlite3.Connection, layout: Layout,
                        report: ReconcileReport) -> set[str]:
    """Handle rows whose clip is missing; the ids still indexed afterwards."""
    kept: set[str] = set()
    for clip_id in sorted(index.all_ids(conn)):
        if not is_clip_id(clip_id):
            log.warning("index row with malformed id %r left alone", clip_id[:40])
            continue
        if layout.clip(clip_id).exists():
            kept.add(clip_id)
            continue
        if layout.deleting(clip_id).exists():
            log.info("clip %s: finishing an interrupted delete", clip_id)
            report.deletes_finished += 1
        else:
            log.warning("clip %s: file missing; dropping its index row", clip_id)
            report.rows_dropped += 1
        index.delete_row(conn, clip_id)
    return kept


def _files_without_rows(conn: sqlite3.Connection, layout: Layout, indexed: set[str],
                        report: ReconcileReport) -> None:
    for path in sorted(layout.clips.iterdir()):
        clip_id = path.name.removesuffix(".mp4") if path.suffix == ".mp4" else ""
        if clip_id in indexed or not (path.is_file() or path.is_symlink()):
            continue
        if is_clip_id(clip_id) and _reindex(conn, layout, clip_id):
            log.info("clip %s: interrupted commit completed from its journal", clip_id)
            indexed.add(clip_id)
            report.reindexed += 1
            continue
        where = _to_orphans(layout, path)
        if is_clip_id(clip_id) and layout.thumb(clip_id).exists():
            _to_orphans(layout, layout.thumb(clip_id))
        log.warning("%s: clip file has no index entry; moved to %s", path.name, where)
        report.orphans_moved += 1


def _clips_cut_short(conn: sqlite3.Connection, layout: Layout, indexed: set[str],
                     report: ReconcileReport) -> None:
    for clip_id in salvage.open_clips(layout, indexed):
        try:
            rec = salvage.finalize(conn, layout, clip_id)
        except OSError as exc:
            log.error("clip %s: recovering it failed: %s", clip_id, exc.strerror or exc)
            rec = None
        if rec is not None:
            indexed.add(clip_id)
            report.cut_short_indexed += 1
            continue
        files.remove_all(layout.salvage(clip_id))
        where = _to_orphans(layout, layout.tmp_clip(clip_id))
        log.warning("clip %s: the unfinished recording was moved to %s", clip_id, where)
        report.orphans_moved += 1


def _finish_renames(layout: Layout) -> None:
    """Move journaled, fully synced clips that were not yet renamed into clips/."""
    for journal in sorted(layout.tmp.glob(f"*{JOURNAL}")):
        clip_id = journal.name.removesuffix(JOURNAL)
        if not is_clip_id(clip_id) or layout.clip(clip_id).exists():
            continue
        part = layout.tmp_clip(clip_id)
        try:
            rec = index.ClipRecord.from_json(json.loads(journal.read_bytes()))
            if rec.id != clip_id or sha256_file(part) != rec.sha256:
                continue
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if layout.tmp_thumb(clip_id).exists():
            layout.tmp_thumb(clip_id).replace(layout.thumb(clip_id))
        part.replace(layout.clip(clip_id))


def _reindex(conn: sqlite3.Connection, layout: Layout, clip_id: str) -> bool:
    """Insert the journaled row if the clip on disk is exactly the one journaled."""
    try:
        rec = index.ClipRecord.from_json(json.loads(layout.journal(clip_id).read_bytes()))
    except (OSError, ValueError, KeyError, TypeError):
        return False
    clip = layout.clip(clip_id)
    if rec.id != clip_id or clip.stat().st_size != rec.size or sha256_file(clip) != rec.sha256:
        return False
    index.insert(conn, rec)
    return True


def _to_orphans(layout: Layout, path: Path) -> Path:
    layout.orphans.mkdir(mode=DIR_MODE, exist_ok=True)
    dest = layout.orphans / path.name
    n = 1
    while dest.exists() or dest.is_symlink():
        dest = layout.orphans / f"{path.stem}.{n}{path.suffix}"
        n += 1
    path.replace(dest)
    fsync_dir(layout.orphans)
    return dest
