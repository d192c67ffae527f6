"""The local loop: frames → motion detector → recorder → clip store, on one thread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from capture.frame import Frame

Box = tuple[float, float, float, float]


class Detector(Protocol):
    def process(self, lores: Any, t: float, exposure_changed: bool = False) -> Any: ...


class ClipRecorder(Protocol):
    @property
    def current_clip_id(self) -> str | None: ...

    def push(self, frame: Frame, motion: bool, score: float) -> Sequence[Any]: ...

    def force(self, trigger: str, seconds: float) -> None: ...

    def close(self) -> Sequence[Any]: ...


@dataclass
class MotionEventRecord:
    """One motion event as the simulation reports it (one JSON line in --events-jsonl)."""

    id: int
    start_frame: int
    start: float
    end_frame: int = -1
    end: float = -1.0
    peak_score: float = 0.0
    boxes: list[Box] = field(default_factory=list)
    clips: list[str] = field(default_factory=list)
    start_wall: float = 0.0
    end_wall: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.id,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "clip": self.clips[0] if self.clips else None,
            "clips": self.clips,
            "peak_score": round(self.peak_score, 4),
            "boxes": [[round(v, 4) for v in b] for b in self.boxes],
        }


class LoopListener(Protocol):
    def event_started(self, ev: MotionEventRecord) -> None: ...

    def event_ended(self, ev: MotionEventRecord) -> None: ...

    def clip_stored(self, clip: Any) -> None: ...


class LocalLoop:
    """Feeds each frame to the detector and the recorder and reports events and clips."""

    def __init__(self, detector: Detector, recorder: ClipRecorder, listener: LoopListener):
        self.detector = detector
        self.recorder = recorder
        self.listener = listener
        self.frames = 0
        self.last_pts = 0.0
        self._event: MotionEventRecord | None = None
        self._last_motion: tuple[int, float, float] = (0, 0.0, 0.0)

    def feed(self, frame: Frame) -> Any:
        result = self.detector.process(frame.lores, frame.pts, frame.exposure_changed)
        self.frames += 1
        self.last_pts = frame.pts
        t = result.transition
        if t is not None and t.kind == "end" and self._event is not None:
            self._end_event()
        # The recorder follows events, not raw frames: a lone flicker that never passes
        # persistence does not start a clip, and post-roll counts from the last real motion.
        motion = bool(result.motion and result.event_active)
        if motion:
            self._last_motion = (frame.seq, frame.pts, frame.wall)
        for clip in self.recorder.push(frame, motion, float(result.score)):
            self.listener.clip_stored(clip)
        if t is not None and t.kind == "start":
            self._event = MotionEventRecord(t.event_id, frame.seq, frame.pts,
                                            start_wall=frame.wall)
            self.listener.event_started(self._event)
        ev = self._event
        if ev is not None and result.event_active:
            clip_id = self.recorder.current_clip_id
            if clip_id and clip_id not in ev.clips:
                ev.clips.append(clip_id)
            if result.score >= ev.peak_score and result.motion:
                ev.peak_score = float(result.score)
                ev.boxes = [tuple(b) for b in result.boxes]
        return result

    def force(self, trigger: str, seconds: float) -> None:
        """Record from the next frame for at least `seconds`, motion or not (a doorbell
        ring); the clip holding that frame is marked with `trigger`."""
        self.recorder.force(trigger, seconds)

    def _end_event(self) -> None:
        ev = self._event
        assert ev is not None
        ev.end_frame, ev.end, ev.end_wall = self._last_motion
        self._event = None
        self.listener.event_ended(ev)

    def close(self) -> None:
        """End of input (or SIGTERM): end the open event and finalize the open clip."""
        if self._event is not None:
            self._end_event()
        for clip in self.recorder.close():
            self.listener.clip_stored(clip)
