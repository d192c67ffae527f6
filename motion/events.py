"""Detector results and the event tracker: persistence (N of M frames) and quiet period."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Box = tuple[float, float, float, float]  # x, y, w, h as 0..1 fractions of the frame

UPDATE_INTERVAL = 1.0  # seconds of event time between "update" transitions


class MotionError(Exception):
    """The detector cannot use its input or config; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class EventTransition:
    kind: Literal["start", "update", "end"]
    event_id: int  # 1, 2, ... within one detector
    t: float  # time of the transition ("end": the last motion frame's time)
    peak_score: float
    boxes: tuple[Box, ...]  # start/update: current boxes; end: one box around all motion


@dataclass(frozen=True, slots=True)
class FrameResult:
    motion: bool  # qualifying motion in this frame after the guards
    event_active: bool  # an event is active after persistence and quiet period
    score: float  # fraction of the analysed area that is moving
    boxes: tuple[Box, ...]
    transition: EventTransition | None
    global_change: bool  # the guard judged this frame a lighting/exposure change


def union_box(a: Box | None, boxes: tuple[Box, ...]) -> Box | None:
    """The smallest box holding `a` (if any) and every box in `boxes`."""
    if not boxes:
        return a
    # One pass with plain comparisons: this runs on every motion frame of an event.
    if a is None:
        x0, y0, w, h = boxes[0]
        x1, y1 = x0 + w, y0 + h
    else:
        x0, y0, x1, y1 = a[0], a[1], a[0] + a[2], a[1] + a[3]
    for bx, by, bw, bh in boxes:
        if bx < x0:
            x0 = bx
        if by < y0:
            y0 = by
        if bx + bw > x1:
            x1 = bx + bw
        if by + bh > y1:
            y1 = by + bh
    return (x0, y0, x1 - x0, y1 - y0)

class EventTracker:
    """Turns per-frame motion into events: start after N of M frames, end after quiet time."""

    def __init__(self, persistence: int, window: int, quiet_seconds: float) -> None:
        if persistence > window:
            raise MotionError(
                f"persistence ({persistence}) cannot exceed persistence_window ({window})")
        self._need = persistence
        self._mask = (1 << window) - 1
        self._quiet = quiet_seconds
        self._history = 0  # bit i set = motion i frames ago
        self._next_id = 1
        self.active = False
        self._id = 0
        self._peak = 0.0
        self._last_motion_t = 0.0
        self._last_update_t = 0.0
        self._boxes: tuple[Box, ...] = ()
        self._union: Box | None = None

    def step(
        self, t: float, motion: bool, score: float, boxes: tuple[Box, ...]
    ) -> EventTransition | None:
        """Advance one frame; return the transition that happens on it, if any."""
        self._history = ((self._history << 1) | int(motion)) & self._mask
        if not self.active:
            if motion and self._history.bit_count() >= self._need:
                return self._start(t, score, boxes)
            return None
        if motion:
            self._last_motion_t = t
            self._peak = max(self._peak, score)
            self._boxes = boxes
            self._union = union_box(self._union, boxes)
        elif t - self._last_motion_t >= self._quiet:
            return self._end()
        if t - self._last_update_t >= UPDATE_INTERVAL:
            self._last_update_t = t
            return EventTransition("update", self._id, t, self._peak, self._boxes)
        return None

    def _start(self, t: float, score: float, boxes: tuple[Box, ...]) -> EventTransition:
        self.active = True
        self._id = self._next_id
        self._next_id += 1
        self._peak = score
        self._last_motion_t = self._last_update_t = t
        self._boxes = boxes
        self._union = union_box(None, boxes)
        return EventTransition("start", self._id, t, score, boxes)

    def _end(self) -> EventTransition:
        self.active = False
        self._history = 0
        whole = (self._union,) if self._union is not None else ()
        return EventTransition("end", self._id, self._last_motion_t, self._peak, whole)

    def reset_history(self) -> None:
        """Forget recent motion frames (after a lighting change re-seeds the background)."""
        self._history = 0
