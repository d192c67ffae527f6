"""Live view: the camera's own H.264 as fragmented MP4 and HLS, and a current snapshot, in a
small directory on tmpfs (never the SD card) that the owner's web app serves."""

from __future__ import annotations

from pathlib import Path

from capture.live.feed import LiveFeed
from capture.live.place import LiveDirError
from capture.live.publisher import LivePublisher
from config.live import LiveConfig


def open_live(directory: Path, cfg: LiveConfig) -> LiveFeed:
    """The feed the recorder taps and the live thread drains; LiveDirError if `directory`
    cannot be used (not tmpfs, another user's)."""
    return LiveFeed(LivePublisher(directory, cfg), snapshot_seconds=cfg.snapshot_seconds)


__all__ = ["LiveDirError", "LiveFeed", "LivePublisher", "open_live"]
