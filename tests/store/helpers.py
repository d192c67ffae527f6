"""Shared helpers for store tests: configs, clip metadata and committing real files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from capture.recording.sink import ClipMeta
from config import StoreConfig
from device.store import ClipStore

NO_RETENTION = {"max_age_days": 0.0, "max_size_mb": 0, "min_free_mb": 0}


def store_config(root: Path, **limits: float) -> StoreConfig:
    values = {**NO_RETENTION, **limits}
    return StoreConfig(path=str(root), max_age_days=float(values["max_age_days"]),
                       max_size_mb=int(values["max_size_mb"]),
                       min_free_mb=int(values["min_free_mb"]))


def meta(start_wall: float = 1_700_000_000.0, duration: float = 4.0, frames: int = 100,
         thumb: bytes = b"\xff\xd8thumb\xff\xd9", **later: Any) -> ClipMeta:
    return ClipMeta(start_wall=start_wall, end_wall=start_wall + duration, duration=duration,
                    start_pts=12.5, first_seq=300, last_seq=300 + frames - 1, peak_score=0.25,
                    thumbnail_jpeg=thumb, width=640, height=480, frames=frames, **later)


def commit_bytes(store: ClipStore, data: bytes | None = None, **meta_kw: Any) -> str:
    """Write `data` (default: random bytes) where the recorder would, commit; the id."""
    handle = store.begin()
    handle.tmp_path.write_bytes(os.urandom(4096) if data is None else data)
    store.commit(handle, meta(**meta_kw))
    return handle.id
