"""One clip being written: its MP4, where it starts, and its best thumbnail."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from capture.frame import Frame, StreamInfo
from capture.media.mux import Mp4Writer
from capture.media.picture import bgr_scaled, bgr_size
from capture.recording.prebuffer import Entry
from capture.recording.sink import ClipClock, ClipHandle, ClipMeta, ClipOpened
from common import write_atomic

# Media per fragment made durable while a clip is written: a power cut loses at most this
# much plus what the pipeline holds. Each costs one fsync (see bench/bench_recording.py).
FRAGMENT_SECONDS = 1.0


class RecordingError(Exception):
    """A clip could not be written and was aborted; the message is one line for the user.

    `committed` lists clips finished in the same call before the failure (they are safe).
    """

    def __init__(self, message: str, committed: list[CommittedClip] | None = None) -> None:
        super().__init__(message)
        self.committed = committed or []


@dataclass(frozen=True)
class CommittedClip:
    id: str
    meta: ClipMeta = field(repr=False)


class OpenClip:
    """Writes entries to the MP4 at `handle.tmp_path` and gathers its ClipMeta."""

    def __init__(self, handle: ClipHandle, info: StreamInfo, thumbnail_width: int, *,
                 simulated: bool = False, clock: ClipClock | None = None) -> None:
        self.handle = handle
        self.simulated = simulated
        self.clock = clock or ClipClock()
        self.writer = Mp4Writer(handle.tmp_path, info, fragment_seconds=FRAGMENT_SECONDS)
        self._info = info
        self._thumb_width = thumbnail_width
        self._first: Entry | None = None  # first entry actually written (a keyframe)
        self._last: Entry | None = None
        self.peak = float("-inf")
        self._thumb: np.ndarray | None = None
        self.trigger = "motion"  # what the clip is kept for: "motion" or "ring"

    def write(self, entry: Entry) -> None:
        """Add a packet; the newest one is held back until the next, so that `finish` can
        still seal it (the clip's closing signature goes in the last packet)."""
        if self._first is None:
            if not entry.packet.keyframe:
                return  # undecodable without its keyframe: the writer would drop it too
            self._note_opened(entry)
            self._first = entry
        if self._last is not None:
            self.writer.write(self._last.packet)
        self._last = entry

    @property
    def empty(self) -> bool:
        """No keyframe came: nothing of this clip can be kept."""
        return self._first is None

    def _note_opened(self, first: Entry) -> None:
        """Durably note where the clip starts before any of its fragments is synced."""
        path = self.handle.opened_path
        if path is None:
            return
        start = self._start(first)
        opened = ClipOpened(self.handle.id, start[0], start[1], start[2], self._info.width,
                            self._info.height, self._info.fps, simulated=self.simulated,
                            clock_synced=self.clock.synced,
                            clock_max_error_ms=self.clock.max_error_ms,
                            clock_est_error_ms=self.clock.est_error_ms)
        # The directory fsync also makes the new MP4's name durable.
        write_atomic(path, json.dumps(opened.to_json()).encode(), mode=0o600)

    def _start(self, first: Entry) -> tuple[float, float, int]:
        """(start wall, start pts, first seq) of a clip whose first packet is `first`."""
        start_pts = first.packet.pts
        # Each entry carries its delivering frame's (pts, wall): map media time to wall time.
        return (first.wall + (start_pts - first.pts), start_pts,
                first.seq + round((start_pts - first.pts) * self._info.fps))

    @property
    def last(self) -> Entry | None:
        return self._last

    @property
    def length(self) -> float:
        """Seconds of media from the clip's first packet to the latest one."""
        if self._first is None or self._last is None:
            return 0.0
        return self._last.packet.pts - self._first.packet.pts

    def offer(self, frame: Frame, score: float) -> None:
        """Keep a small copy of the picture if this frame has the highest score so far."""
        if score <= self.peak and self._thumb is not None:
            return
        self.peak = max(score, self.peak)
        # Converted and shrunk now: a camera may reuse the full-size buffer after this call.
        # Scaled as it is converted: a decoded 1080p picture is never whole in BGR for it.
        w, h = bgr_size(frame.main)
        tw = min(self._thumb_width, w)
        self._thumb = bgr_scaled(frame.main, (tw, max(1, round(h * tw / w))))

    def finish(self, seal: bytes = b"") -> ClipMeta:
        """Write the last packet with `seal` (NAL units framed as the stream's) after its
        own, close the MP4 (MuxError on failure) and describe it."""
        if self._last is not None:
            final = self._last.packet
            self.writer.write(dataclasses.replace(final, data=final.data + seal) if seal
                              else final)
        frames, duration = self.writer.close()
        first, last = self._first, self._last
        assert first is not None and last is not None  # close() raised if nothing was written
        start_wall, start_pts, first_seq = self._start(first)
        # A file replayed N times faster delivers a frame in 1/N of its media duration: the
        # last frame's media length could reach past now. A clip never ends in the future.
        end_wall = min(last.wall + (start_pts + duration - last.pts), time.time())
        jpeg = b""
        if self._thumb is not None:
            ok, buf = cv2.imencode(".jpg", self._thumb, [cv2.IMWRITE_JPEG_QUALITY, 85])
            jpeg = buf.tobytes() if ok else b""
        return ClipMeta(
            start_wall=start_wall, end_wall=end_wall, duration=duration, start_pts=start_pts,
            first_seq=first_seq, last_seq=first_seq + frames - 1,
            peak_score=self.peak if self._thumb is not None else 0.0,
            thumbnail_jpeg=jpeg, width=self._info.width, height=self._info.height,
            frames=frames, trigger=self.trigger, simulated=self.simulated,
            clock_synced=self.clock.synced, clock_max_error_ms=self.clock.max_error_ms,
            clock_est_error_ms=self.clock.est_error_ms,
        )

    def discard(self) -> None:
        self.writer.discard()
