"""Removing one clip safely while other processes use the store (writer and owner views)."""

from __future__ import annotations

import os
import sqlite3

from common import fsync_dir
from device.store import files, index
from device.store.files import Layout


def remove_clip(conn: sqlite3.Connection, layout: Layout, clip_id: str) -> None:
    """Move the file aside, delete the row, then remove the thumbnail and the moved file.

    A crash in between leaves a row plus a `.deleted` file, which recovery recognises as an
    interrupted delete rather than lost footage.
    """
    moved = True
    try:
        os.replace(layout.clip(clip_id), layout.deleting(clip_id))
        fsync_dir(layout.clips)
    except FileNotFoundError:
        moved = False
    try:
        index.delete_row(conn, clip_id)
    except sqlite3.Error:
        if moved:
            os.replace(layout.deleting(clip_id), layout.clip(clip_id))
        raise
    files.remove_all(layout.thumb(clip_id), layout.deleting(clip_id))
