"""The daemon's capture side: the camera thread (owns the reopening camera) and the motion
thread (owns detector, recorder and clip store), joined by a queue that drops rather than
stalls the camera. A doorbell ring reaches the motion thread as an event it checks each frame."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from capture.frame import Frame
from capture.live import LivePublisher
from capture.recording import RecordingError
from capture.sources import is_live, is_simulated
from common.dropqueue import DropQueue
from config import Config
from device.daemon.camera_guard import CameraGuard
from device.daemon.camera_source import Nothing, ReopeningCamera
from device.daemon.clock import ClockWatch
from device.daemon.logsetup import event
from device.daemon.people import PeopleThread
from device.daemon.retention import RetentionScheduler
from device.daemon.workers import Worker
from device.store import retention
from device.wiring import build
from device.wiring.people import PeopleStage
from device.wiring.pipeline import LocalLoop, MotionEventRecord
from motion.people import PeopleDetector, PeopleError

log = logging.getLogger("doorcam")


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
        labels = ",".join(ev.labels)
        log.info("motion event %d ended, peak %.1f%%, clips %s, labels %s", ev.id,
                 ev.peak_score * 100, ",".join(ev.clips) or "-", labels,
                 extra=event("motion_ended", event_id=ev.id, labels=labels))
        for o in self.observers:
            o.event_ended(ev)

    def person_seen(self, ev: MotionEventRecord) -> None:
        log.info("person seen in motion event %d (frame %d)", ev.id, ev.person_frame,
                 extra=event("person_seen", event_id=ev.id, labels=",".join(ev.labels)))
        for o in self.observers:
            o.person_seen(ev)

    def clip_stored(self, clip: Any) -> None:
        self.clips += 1
        ring = clip.meta.trigger == "ring"
        log.info("clip stored: %s%s", clip.id, " (doorbell ring)" if ring else "",
                 extra=event("clip_stored", clip=clip.id))
        for o in self.observers:
            o.clip_stored(clip)


class CaptureSide:
    """The camera thread and the motion thread; see the module docstring."""

    def __init__(self, cfg: Config, pace: float | None, *,
                 guard: CameraGuard | None = None, clock: ClockWatch | None = None) -> None:
        self.cfg = cfg
        self.pace = pace
        self.clock = clock or ClockWatch()
        self.simulated = is_simulated(cfg.capture.source)
        self.frames: DropQueue[Frame | None] = DropQueue(8)
        self.camera_source = ReopeningCamera(self.open_source, live=is_live(cfg.capture.source),
                                             guard=guard)
        # A camera that delivers nothing for this long is stalled (frames come every <1 s).
        self.camera = Worker("camera", self._capture_step, on_stop=self.camera_source.close,
                             max_silence=5.0)
        self.process = Worker("motion", self._process_step, on_stop=self._finish,
                              max_silence=10.0)
        # The live view's thread owns its directory; the motion thread only queues packets
        # for it (dropping when it lags). Its failure costs live video, never recording.
        self.live_feed = build.make_live(cfg)
        self.publisher = (None if self.live_feed is None else
                          Worker("live", self._live_step, on_start=self._reopen_live,
                                 on_stop=self._close_live, max_silence=10.0, critical=False))
        self._live_closed = False
        self.listener = _LogListener()
        self.retention = RetentionScheduler(lambda: self.listener.clips)
        self._started = time.monotonic()
        self._loop: LocalLoop | None = None
        self._store: Any = None
        self.source_ended = threading.Event()
        self._reloaded: Config | None = None
        self.frames_shape = (0, 0)
        self._rang = threading.Event()  # set by the doorbell thread, taken by the motion thread
        self.people: PeopleThread | None = None
        self.people_problem = ""  # why the people stage is off although enabled

    @property
    def live(self) -> bool:
        return self.camera_source.live

    @property
    def guard(self) -> CameraGuard:
        return self.camera_source.guard

    def workers(self) -> Sequence[Worker]:
        people = self.people.workers() if self.people is not None else ()
        live = (self.publisher,) if self.publisher else ()
        return (self.camera, self.process, *live, *people)

    def start(self) -> None:
        self._store = None
        self.clock.sample()
        self.clock.read_kernel()
        self._start_people()
        if self.publisher is not None:
            self.publisher.start()
        self.process.start()
        self.camera.start()

    def _live_step(self, stop: threading.Event) -> None:
        assert self.live_feed is not None
        self.live_feed.step(timeout=0.5)

    def _close_live(self) -> None:
        assert self.live_feed is not None
        if not self._live_closed:  # not when the reopening itself failed
            self._live_closed = True
            self.live_feed.close()  # the files go: viewers see the live view has stopped

    def _reopen_live(self) -> None:
        """A restarted live thread publishes through a new publisher (the closed one's
        directory and settings), from the next keyframe; the feed's queue is kept."""
        if not self._live_closed:
            return
        assert self.live_feed is not None
        old = self.live_feed.publisher
        self.live_feed.publisher = LivePublisher(old.dir, old.cfg)
        self._live_closed = False

    def _start_people(self) -> None:
        """The people thread, started before the motion thread that feeds it. A detector
        that cannot be built (the yolox model not installed) leaves people labels off and
        says why; motion events and clips go on as before."""
        if not self.cfg.people.enabled:
            return
        try:
            detector: PeopleDetector = build.make_people_detector_for(self.cfg)
        except PeopleError as exc:
            self.people_problem = str(exc)
            log.error("people detection off: %s", exc)
            return
        self.people = PeopleThread(detector)
        self.people.start()

    def open_source(self) -> Any:
        return build.open_frames(self.cfg, None, self.pace)

    def _capture_step(self, stop: threading.Event) -> None:
        frame = self.camera_source.read(stop)
        if isinstance(frame, Nothing):
            return
        self.frames.put(frame)
        if frame is None:
            self.source_ended.set()
            stop.set()

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
            source = self.camera_source.source
            assert source is not None
            recorder = self._recorder(self.cfg, source.info)
            people = (PeopleStage(self.cfg.people, self.people) if self.people is not None
                      else None)
            self._loop = LocalLoop(detector, recorder, self.listener, people=people,
                                   labels=self._store)
        self._apply_reload()
        if self._rang.is_set():
            self._rang.clear()
            self._loop.force("ring", self.cfg.doorbell.record_seconds)
        try:
            self._loop.feed(frame)
        except RecordingError as exc:
            # This clip is lost (aborted, nothing half-written); the camera keeps watching.
            log.error("recording failed: %s", exc)
            self.retention.run(self._store)
        if self.retention.due():
            self.retention.run(self._store)

    def ring(self, wall: float) -> None:
        """The doorbell rang (any thread): the motion thread records from its next frame.
        Rings before that frame are one recording."""
        self._rang.set()

    def _recorder(self, cfg: Config, info: Any) -> Any:
        # The recorder asks the clock once per clip, on this (the motion) thread.
        return build.make_recorder(cfg, info, self._store, simulated=self.simulated,
                                   clock=self.clock.stamp, live=self.live_feed)

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
            self._loop.recorder = self._recorder(new, self.camera_source.source.info)
        self._store.limits = retention.Limits.from_config(new.store)
        self.cfg = new
        log.info("configuration reloaded")

    def _finish(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self.retention.run(self._store)
        if self._store is not None:
            self._store.close()

    def frames_per_second(self) -> float:
        frames = self._loop.frames if self._loop else 0
        return frames / max(time.monotonic() - self._started, 1e-6)

    def stats(self) -> dict[str, Any]:
        live = self.live_feed
        out = {"fps": round(self.frames_per_second(), 1), "camera": self.guard.fault or "ok",
               "clock_synced": self.clock.sample(),
               "live_dropped": live.dropped if live is not None else 0}
        if self.people is not None:
            p = self.people
            out.update(people_checks=p.answered, people_dropped=p.dropped,
                       people_failures=p.failures,
                       people_ms_per_check=round(p.seconds / max(1, p.answered) * 1000, 1))
        return out

    def status(self) -> str:
        fps = self.frames_per_second()
        last = self.listener.last_event
        ago = f"{time.time() - last:.0f} s ago" if last else "none yet"
        fault = self.guard.status()
        clock = "" if self.clock.sample() else "clock not synchronised; "
        people = "; people detection off (see the journal)" if self.people_problem else ""
        return ((fault + "; " if fault else "") + clock
                + f"{fps:.1f} frames/s, last motion event {ago}{people}")

    def stop(self) -> None:
        self.camera.stop()
        self.process.stop(timeout=30.0)
        if self.people is not None:
            self.people.stop()  # after the motion thread, which takes its last answers
            if self.people.dropped:
                log.warning("people checks dropped while the detector lagged: %d",
                            self.people.dropped)
        if self.publisher is not None:
            self.publisher.stop()
        if self.frames.dropped:
            log.warning("camera frames dropped while processing lagged: %d",
                        self.frames.dropped)
        if self.live_feed is not None and self.live_feed.dropped:
            log.warning("live view: frames dropped while it lagged: %d",
                        self.live_feed.dropped)
