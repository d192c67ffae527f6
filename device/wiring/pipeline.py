"""The local loop: frames → motion detector → recorder → clip store, on one thread."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from capture.frame import Frame
from device.wiring.people import PeopleFound, PeopleStage, confirmed

Box = tuple[float, float, float, float]
PERSON = "person"
MOTION = "motion"
KEEP_ENDED = 4  # ended events whose late people answers still label them and their clips


class Detector(Protocol):
    def process(self, lores: Any, t: float, exposure_changed: bool = False) -> Any: ...


class LabelSink(Protocol):
    """Where a clip's labels go (the clip store, on the thread that owns it)."""

    def add_label(self, clip_id: str, label: str, detail: dict[str, Any] | None = None
                  ) -> None: ...


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
    labels: list[str] = field(default_factory=lambda: [MOTION])
    # Every people check that found someone: (frame, boxes), and how many checks ran.
    people: list[tuple[int, list[Box]]] = field(default_factory=list)
    checks: int = 0
    person_frame: int = -1  # the frame whose check confirmed the `person` label

    @property
    def person(self) -> bool:
        return PERSON in self.labels

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
            "labels": list(self.labels),
            "person_frame": self.person_frame if self.person else None,
            "people": [{"frame": seq, "boxes": [[round(v, 4) for v in b] for b in boxes]}
                       for seq, boxes in self.people],
        }


class LoopListener(Protocol):
    def event_started(self, ev: MotionEventRecord) -> None: ...

    def event_ended(self, ev: MotionEventRecord) -> None: ...

    def person_seen(self, ev: MotionEventRecord) -> None:
        """The event was just labelled `person` (it may have ended already)."""
        ...

    def clip_stored(self, clip: Any) -> None: ...


class LocalLoop:
    """Feeds each frame to the detector and the recorder and reports events and clips."""

    def __init__(self, detector: Detector, recorder: ClipRecorder, listener: LoopListener,
                 *, people: PeopleStage | None = None, labels: LabelSink | None = None
                 ) -> None:
        self.detector = detector
        self.recorder = recorder
        self.listener = listener
        self.people = people
        self.labels = labels
        self.min_hits = people.cfg.min_hits if people is not None else 1
        self.frames = 0
        self.last_pts = 0.0
        self._event: MotionEventRecord | None = None
        self._last_motion: tuple[int, float, float] = (0, 0.0, 0.0)
        self._ended: dict[int, MotionEventRecord] = {}
        # Clips this loop stored, with the frames they hold, for labels that arrive later.
        self._stored: dict[str, tuple[int, int]] = {}
        self.found: list[PeopleFound] = []  # this frame's people answers (any frame's check)

    def feed(self, frame: Frame) -> Any:
        result = self.detector.process(frame.lores, frame.pts, frame.exposure_changed)
        self._feed(frame, result)
        return result

    def _feed(self, frame: Frame, result: Any) -> None:
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
            self._clip_stored(clip)
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
        if self.people is not None:
            if ev is not None and result.event_active:
                self.people.offer(frame, result, ev.id)
            self.found = self.people.results()
            for found in self.found:
                self._person_answer(found)

    def _person_answer(self, found: PeopleFound) -> None:
        ev = self._event if self._event is not None and self._event.id == found.event_id \
            else self._ended.get(found.event_id)
        if ev is None:
            return
        ev.checks += 1
        if not found.boxes:
            return
        ev.people.append((found.seq, list(found.boxes)))
        if ev.person:
            self._label_clips(ev)
            return
        if not confirmed([boxes for _, boxes in ev.people], self.min_hits):
            if self.people is not None and ev is self._event:
                self.people.confirm(ev.id)
            return
        ev.labels.append(PERSON)
        ev.person_frame = found.seq
        self.listener.person_seen(ev)
        self._label_clips(ev)

    def _label_clips(self, ev: MotionEventRecord) -> None:
        """Label the event's stored clips that hold a frame in which a person was seen."""
        for clip_id in ev.clips:
            span = self._stored.get(clip_id)
            if span is not None:
                self._label(clip_id, span, ev)

    def _label(self, clip_id: str, span: tuple[int, int], ev: MotionEventRecord) -> None:
        seen = [(seq, boxes) for seq, boxes in ev.people if span[0] <= seq <= span[1]]
        if not seen or self.labels is None:
            return
        self.labels.add_label(clip_id, PERSON, {
            "frames": [seq for seq, _ in seen],
            "boxes": [[[round(v, 4) for v in b] for b in boxes] for _, boxes in seen]})

    def _clip_stored(self, clip: Any) -> None:
        meta = clip.meta
        span = (int(meta.first_seq), int(meta.last_seq))
        self._stored[clip.id] = span
        if len(self._stored) > 4 * KEEP_ENDED:
            del self._stored[next(iter(self._stored))]
        for ev in (self._event, *self._ended.values()):
            if ev is not None and ev.person and clip.id in ev.clips:
                self._label(clip.id, span, ev)
        self.listener.clip_stored(clip)

    def force(self, trigger: str, seconds: float) -> None:
        """Record from the next frame for at least `seconds`, motion or not (a doorbell
        ring); the clip holding that frame is marked with `trigger`."""
        self.recorder.force(trigger, seconds)

    def _end_event(self) -> None:
        ev = self._event
        assert ev is not None
        ev.end_frame, ev.end, ev.end_wall = self._last_motion
        self._event = None
        self._ended[ev.id] = ev
        if len(self._ended) > KEEP_ENDED:
            del self._ended[next(iter(self._ended))]
        self.listener.event_ended(ev)

    def close(self) -> None:
        """End of input (or SIGTERM): take the people answers still coming (briefly), end
        the open event and finalize the open clip."""
        if self.people is not None:
            self.people.finish()
            for found in self.people.results():
                self._person_answer(found)
        if self._event is not None:
            self._end_event()
        for clip in self.recorder.close():
            self._clip_stored(clip)
