"""`doorcam run`: capture, motion and recording, the request feed and the uploader, each on
its own thread. Start-up and shut-down follow one explicit order."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any

from capture.frame import Frame, SourceError
from capture.recording import RecordingError
from capture.sources import is_live
from config import Config
from device.daemon.camera_guard import CameraGuard
from device.daemon.camera_reader import FrameReader, NoFrame
from device.daemon.logsetup import event
from device.daemon.workers import DropQueue, Worker
from device.store import StoreError, retention
from device.wiring import build
from device.wiring.pipeline import LocalLoop, MotionEventRecord

log = logging.getLogger("doorcam")
PRUNE_EVERY_S = 60.0
FIRST_FRAME_S = 10.0  # a camera's first frame after opening (picamera2 needs about 1 s)
STALL_MARGIN_S = 0.25
MAX_STUCK_READS = 3


class _LogListener:
    """Logs events and clips and passes them on to observers (the status side)."""

    def __init__(self) -> None:
        self.last_event: float | None = None
        self.observers: list[Any] = []
        self.clips = 0

    def event_started(self, ev: MotionEventRecord) -> None:
        self.last_event = time.time()
        log.info("motion event %d started (frame %d)", ev.id, ev.start_frame,
                 extra=event("motion_started", event_id=ev.id))
        for o in self.observers:
            o.event_started(ev)

    def event_ended(self, ev: MotionEventRecord) -> None:
        log.info("motion event %d ended, peak %.1f%%, clips %s", ev.id, ev.peak_score * 100,
                 ",".join(ev.clips) or "-", extra=event("motion_ended", event_id=ev.id))
        for o in self.observers:
            o.event_ended(ev)

    def clip_stored(self, clip: Any) -> None:
        self.clips += 1
        log.info("clip stored: %s", clip.id, extra=event("clip_stored", clip=clip.id))
        for o in self.observers:
            o.clip_stored(clip)


class CaptureSide:
    """The camera thread (owns the source) and the processing thread (owns detector,
    recorder and clip store), joined by a queue that drops rather than stalls the camera."""

    def __init__(self, cfg: Config, pace: float | None) -> None:
        self.cfg = cfg
        self.pace = pace
        self.frames: DropQueue[Frame | None] = DropQueue(8)
        # A camera that delivers nothing for this long is stalled (frames come every <1 s).
        self.camera = Worker("camera", self._capture_step, on_stop=self._close_reader,
                             max_silence=5.0)
        self.process = Worker("motion", self._process_step, on_stop=self._finish,
                              max_silence=10.0)
        self.listener = _LogListener()
        self._started = time.monotonic()
        self._source: Any = None
        self._reader: FrameReader | None = None
        self._stuck: list[FrameReader] = []
        self._loop: LocalLoop | None = None
        self._store: Any = None
        self.source_ended = threading.Event()
        self.live = is_live(cfg.capture.source)
        self.guard = CameraGuard()
        self._delivered = False
        self._offset: tuple[float, int] = (0.0, 0)
        self._next_pts, self._next_seq = 0.0, 0
        self.recording_errors = 0
        self._pruned_after, self._last_prune = 0, time.monotonic()
        self._reloaded: Config | None = None
        self.frames_shape = (0, 0)

    def start(self) -> None:
        self._store = None
        self.process.start()
        self.camera.start()

    def _capture_step(self, stop: threading.Event) -> None:
        now = time.monotonic()
        if now < self.guard.retry_at:
            stop.wait(min(0.5, self.guard.retry_at - now))  # short waits keep the heartbeat
            return
        if self._reader is None:
            self._reader = self._new_reader()
        reader = self._reader
        try:
            frame = reader.next(self._patience(reader))
        except NoFrame as exc:
            if self.live and (reader.delivered or exc.waited >= FIRST_FRAME_S):
                self._fault(f"camera stalled: no frame for {exc.waited:.2f} s")
            return  # a recording just waits (and the heartbeat stays fresh)
        except SourceError as exc:
            if not self.live:
                raise
            self._fault(str(exc))
            return
        self._source = reader.source
        if frame is None and self.live:
            self._fault("the camera stopped delivering frames")
            return
        if frame is not None and self.live and self.guard.frozen(frame.lores):
            self._fault("frozen picture (identical frames)")
            return
        self.guard.good_frame()
        if frame is not None:
            self._rebase(frame)
        self.frames.put(frame)
        if frame is None:
            reader.close()
            self.source_ended.set()
            stop.set()

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
        return FrameReader(self.open_source)

    def _rebase(self, frame: Frame) -> None:
        """Keep seq and pts running on across camera reopenings (each starts again at 0)."""
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
        self._next_pts = frame.pts + 1.0 / max(self._source.info.fps, 1.0)
        self._next_seq = frame.seq + 1

    def open_source(self) -> Any:
        return build.open_frames(self.cfg, None, self.pace)

    def _fault(self, reason: str) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and not reader.close(wait=1.0):
            self._stuck.append(reader)
            reason += " (the read has not returned)"
        self.guard.failed(reason, time.monotonic())

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close(wait=2.0)
            self._reader = None

    def _process_step(self, stop: threading.Event) -> None:
        frame = self.frames.get(timeout=0.5)
        if frame is None:
            if self.source_ended.is_set() and self._loop is not None:
                stop.set()
            return
        if self._loop is None:
            self._store = build.open_store(self.cfg)
            h, w = self.frames_shape = frame.lores.shape[:2]
            detector = build.make_detector(self.cfg, h, w)
            assert self._source is not None
            recorder = build.make_recorder(self.cfg, self._source.info, self._store)
            self._loop = LocalLoop(detector, recorder, self.listener)
        self._apply_reload()
        try:
            self._loop.feed(frame)
        except RecordingError as exc:
            # This clip is lost (aborted, nothing half-written); the camera keeps watching.
            self.recording_errors += 1
            log.error("recording failed: %s", exc)
            self._prune()
        if self.listener.clips != self._pruned_after or \
                time.monotonic() - self._last_prune > PRUNE_EVERY_S:
            self._prune()

    def _prune(self) -> None:
        """Retention runs after every clip and every minute; a full disk frees space."""
        self._pruned_after, self._last_prune = self.listener.clips, time.monotonic()
        try:
            for clip_id in self._store.prune(time.time()):
                log.info("retention: deleted clip %s", clip_id)
        except StoreError as exc:
            log.error("retention failed: %s", exc)

    def reload(self, cfg: Config) -> None:
        """Take new motion, recording and retention settings (from SIGHUP) at the next frame."""
        self._reloaded = cfg

    def _apply_reload(self) -> None:
        new = self._reloaded
        if new is None or self._loop is None:
            return
        if new.recording != self.cfg.recording and self._loop.recorder.current_clip_id:
            return  # a clip is being written with the old settings: after it
        self._reloaded = None
        if new.motion != self.cfg.motion:
            h, w = self.frames_shape
            self._loop.detector = build.make_detector(new, h, w)
        if new.recording != self.cfg.recording:
            for clip in self._loop.recorder.close():
                self.listener.clip_stored(clip)
            self._loop.recorder = build.make_recorder(new, self._source.info, self._store)
        self._store.limits = retention.Limits.from_config(new.store)
        self.cfg = new
        log.info("configuration reloaded")

    def _finish(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._prune()
        if self._store is not None:
            self._store.close()

    def frames_per_second(self) -> float:
        frames = self._loop.frames if self._loop else 0
        return frames / max(time.monotonic() - self._started, 1e-6)

    def status(self) -> str:
        fps = self.frames_per_second()
        last = self.listener.last_event
        ago = f"{time.time() - last:.0f} s ago" if last else "none yet"
        fault = self.guard.status()
        return (fault + "; " if fault else "") + f"{fps:.1f} frames/s, last motion event {ago}"

    def stop(self) -> None:
        self.camera.stop()
        self.process.stop(timeout=30.0)
        if self.frames.dropped:
            log.warning("camera frames dropped while processing lagged: %d",
                        self.frames.dropped)
