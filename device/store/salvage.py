"""Clips cut short: index what a power cut or crash left of a clip being recorded.

The recorder writes a clip as a fragmented MP4 in tmp/, each fragment fsynced as it is
written, and notes the clip's start (capture's ClipOpened) in tmp/<id>.open.json before
the first fragment is synced. A clip in progress at a crash is therefore an MP4 part plus
that note, with no journal and no row. Its complete fragments are copied into a standard
MP4, which is then committed in the store's own order (files and journal synced in tmp/,
renamed into place, row inserted), so a crash during recovery is recovered in turn.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from common import fsync_dir, sha256_file_and_size
from device.store import files, index
from device.store.files import OPENED, Layout
from device.store.ids import is_clip_id

if TYPE_CHECKING:
    from capture.media.fragments import Salvaged
    from capture.recording.sink import ClipOpened

log = logging.getLogger(__name__)
THUMBNAIL_WIDTH = 320  # the recording default; the owner's setting is not known here


def open_clips(layout: Layout, indexed: set[str]) -> list[str]:
    """Ids of clips noted as opened whose MP4 is still in tmp/ and not indexed."""
    found = []
    for note in sorted(layout.tmp.glob(f"*{OPENED}")):
        clip_id = note.name.removesuffix(OPENED)
        if (is_clip_id(clip_id) and clip_id not in indexed
                and not layout.clip(clip_id).exists() and layout.tmp_clip(clip_id).is_file()):
            found.append(clip_id)
    return found


def finalize(conn: sqlite3.Connection, layout: Layout, clip_id: str) -> index.ClipRecord | None:
    """Index the decodable part of a clip cut short; None if nothing of it decodes.

    The MP4 part itself is left in tmp/ (the caller's clean-up removes it once this
    succeeded, or moves it to orphans/ when it returns None).
    """
    # The media stack loads only when there is a clip to recover: the web app opens the
    # store without it.
    from capture.media.fragments import SalvageError, salvage

    part, out = layout.tmp_clip(clip_id), layout.salvage(clip_id)
    try:
        got = salvage(part, out, thumbnail_width=THUMBNAIL_WIDTH)
    except SalvageError as exc:
        log.warning("clip %s: cut short and nothing in it decodes (%s)", clip_id, exc)
        return None
    opened = _opened(layout, clip_id, part, got)
    sha, size = sha256_file_and_size(out, fsync=True)
    rec = index.ClipRecord(
        id=clip_id, start_wall=opened.start_wall, end_wall=opened.start_wall + got.duration,
        duration=got.duration, start_pts=opened.start_pts, first_seq=opened.first_seq,
        last_seq=opened.first_seq + got.frames - 1, frames=got.frames, width=got.width,
        height=got.height, size=size, sha256=sha, peak_score=0.0, held=False,
        created=time.time(), cut_short=not got.prefix.finished, simulated=opened.simulated,
        clock_synced=opened.clock_synced, clock_max_error_ms=opened.clock_max_error_ms,
        clock_est_error_ms=opened.clock_est_error_ms)
    files.write_synced(layout.tmp_thumb(clip_id), got.thumbnail_jpeg)
    files.write_synced(layout.journal(clip_id), json.dumps(rec.to_json()).encode())
    fsync_dir(layout.tmp)
    os.replace(layout.tmp_thumb(clip_id), layout.thumb(clip_id))
    os.replace(out, layout.clip(clip_id))
    fsync_dir(layout.thumbs)
    fsync_dir(layout.clips)
    index.insert(conn, rec)
    files.unlink_quiet(layout.journal(clip_id))
    lost = got.prefix.total - got.prefix.size
    log.warning("clip %s: recording was cut short; %d frames (%.1f s) recovered from %d "
                "fragment(s), %d trailing bytes dropped", clip_id, got.frames, got.duration,
                got.prefix.fragments, lost)
    return rec


def _opened(layout: Layout, clip_id: str, part: Path, got: Salvaged) -> ClipOpened:
    from capture.recording.sink import ClipOpened

    note = layout.opened(clip_id)
    try:
        opened = ClipOpened.from_json(json.loads(note.read_bytes()))
        if opened.id != clip_id:
            raise ValueError(f"it names clip {opened.id[:40]!r}")
        return opened
    except (OSError, ValueError) as exc:
        # The note is written whole before any fragment is synced, so this takes a damaged
        # disk; the part's last write is then the best clock there is.
        start = part.stat().st_mtime - got.duration
        log.warning("clip %s: its start note is unreadable (%s); start time estimated "
                    "from the file", clip_id, exc)
        fps = got.frames / got.duration if got.duration > 0 else 0.0
        # Nor is it known whether the clock was synchronised: the clip is never offered.
        return ClipOpened(clip_id, start, 0.0, 0, got.width, got.height, fps,
                          clock_synced=False)
