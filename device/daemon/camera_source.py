"""The camera as the capture side sees it: a frame source that is reopened after a fault
(an error, the stream ending, a frozen picture, a stall) with the guard's backoff, and whose
seq and pts run on across reopenings (each opening starts again at 0)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from capture.frame import Frame, SourceError
from device.daemon.camera_guard import CameraGuard
from device.daemon.camera_reader import FrameReader, NoFrame

FIRST_FRAME_S = 10.0  # a camera's first frame after opening (picamera2 needs about 1 s)
STALL_MARGIN_S = 0.25
MAX_STUCK_READS = 3


class Nothing:
    """No frame this time (waiting for a retry or a recording's next frame)."""


NOTHING: Final = Nothing()


class ReopeningCamera:
    """Owned by the camera thread: `read()` gives a frame, None at the end of a recording,
    or NOTHING; live-camera faults are handled here and never end the stream."""

    def __init__(self, open_source: Callable[[], Any], *, live: bool,
                 guard: CameraGuard | None = None) -> None:
        self._open = open_source
        self.live = live
        self.guard = guard or CameraGuard()
        self.source: Any = None
        self._reader: FrameReader | None = None
        self._stuck: list[FrameReader] = []
        self._delivered = False
        self._offset: tuple[float, int] = (0.0, 0)
        self._next_pts, self._next_seq = 0.0, 0

    def read(self, stop: threading.Event) -> Frame | Nothing | None:
        now = time.monotonic()
        if now < self.guard.retry_at:
            stop.wait(min(0.5, self.guard.retry_at - now))  # short waits keep the heartbeat
            return NOTHING
        if self._reader is None:
            self._reader = self._new_reader()
        reader = self._reader
        try:
            frame = reader.next(self._patience(reader))
        except NoFrame as exc:
            if self.live and (reader.delivered or exc.waited >= FIRST_FRAME_S):
                self._fault(f"camera stalled: no frame for {exc.waited:.2f} s")
            return NOTHING  # a recording just waits (and the heartbeat stays fresh)
        except SourceError as exc:
            if not self.live:
                raise
            self._fault(str(exc))
            return NOTHING
        self.source = reader.source
        if frame is None and self.live:
            self._fault("the camera stopped delivering frames")
            return NOTHING
        if frame is not None and self.live and self.guard.frozen(frame.lores):
            self._fault("frozen picture (identical frames)")
            return NOTHING
        self.guard.good_frame()
        if frame is None:
            reader.close()
            return None
        self._rebase(frame)
        return frame

    def _patience(self, reader: FrameReader) -> float:
        """How long to wait for the next frame before a live camera counts as stalled: two
        frame intervals plus a margin for scheduling on a busy Pi. Recordings, and a camera
        before its first frame (allowed FIRST_FRAME_S), are polled so the heartbeat stays
        fresh."""
        if not self.live or not reader.delivered or reader.source is None:
            return 0.5
        return 2.0 / max(reader.source.info.fps, 1.0) + STALL_MARGIN_S

    def _new_reader(self) -> FrameReader:
        """A reader for a new opening; too many earlier ones stuck in a read stop the daemon,
        since only a new process can release a camera held by a read that never returns."""
        self._stuck = [r for r in self._stuck if r.alive]
        if len(self._stuck) >= MAX_STUCK_READS:
            raise RuntimeError(f"the camera is stuck: {len(self._stuck)} reads never "
                               "returned; doorcam exits so that systemd restarts it")
        return FrameReader(self._open)

    def _rebase(self, frame: Frame) -> None:
        if frame.seq == 0 and self._delivered:
            self._offset = (self._next_pts, self._next_seq)
        pts_off, seq_off = self._offset
        if pts_off or seq_off:
            frame.pts += pts_off
            frame.seq += seq_off
            frame.packets = [dataclasses.replace(p, pts=p.pts + pts_off,
                                                 dts=None if p.dts is None else p.dts + pts_off)
                             for p in frame.packets]
        self._delivered = True
        self._next_pts = frame.pts + 1.0 / max(self.source.info.fps, 1.0)
        self._next_seq = frame.seq + 1

    def _fault(self, reason: str) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and not reader.close(wait=1.0):
            self._stuck.append(reader)
            reason += " (the read has not returned)"
        self.guard.failed(reason, time.monotonic())

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close(wait=2.0)
            self._reader = None
