"""A video file decoded with PyAV (via capture.media.decode)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from capture.frame import Frame, SourceError, StreamInfo
from capture.media.decode import DecodedFrame, VideoFileReader
from capture.sources.base import Clock, lores_size, run_passes
from config.schema import CaptureConfig


def check_spec(path: str | Path) -> None:
    """SourceError unless `path` is a readable file (its content is checked when opened)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise SourceError(f"video file not found: {path} (a source is a video file, an image "
                          "folder or pattern, camera:N, rtsp://..., picamera:N or "
                          "synthetic:NAME)")
    if not p.is_file():
        raise SourceError(f"{path}: not a video file")
    if not os.access(p, os.R_OK):
        raise SourceError(f"{path}: not readable by this user")
    if p.stat().st_size == 0:
        raise SourceError(f"{path}: empty file")


class VideoFileSource:
    """Frames of a video file, with their H.264 packets when the file is H.264.

    `skipped` counts packets the decoder rejected; `error` says why reading stopped early
    (a truncated file), else None.
    """

    def __init__(self, path: str | Path, cfg: CaptureConfig, *, pace: float | None) -> None:
        self._path = Path(path)
        self._reader: VideoFileReader | None = VideoFileReader(self._path)
        self._info = self._reader.info
        self._loop = cfg.loop
        self._size = lores_size(self._info.width, self._info.height, cfg.lores_width)
        self._clock = Clock(pace)
        self._done_skipped = 0
        self.error: str | None = None

    @property
    def info(self) -> StreamInfo:
        return self._info

    @property
    def skipped(self) -> int:
        return self._done_skipped + (self._reader.skipped if self._reader else 0)

    def frames(self) -> Iterator[Frame]:
        return run_passes(self._pass, loop=self._loop, frame_time=1.0 / self._info.fps,
                          clock=self._clock, size=self._size)

    def close(self) -> None:
        if self._reader is not None:
            self._done_skipped += self._reader.skipped
            self._reader.close()
            self._reader = None

    def _pass(self, offset: float) -> Iterator[DecodedFrame]:
        if self._reader is None:
            self._reader = VideoFileReader(self._path, pts_offset=offset)
        reader = self._reader
        count = 0
        try:
            for d in reader:
                count += 1
                yield d
        finally:
            self.error = reader.error or self.error
            self.close()
        if count == 0 and offset == 0.0:
            why = f" ({reader.error})" if reader.error else ""
            raise SourceError(f"{self._path}: no decodable video frames{why}")
