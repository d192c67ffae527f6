"""The people stage's policy: which frames are checked, what picture the detector gets, and
how its answers become an event's `person` label.

A check is due on a frame with motion inside an event, at most `checks_per_second` per
event. The detector gets the moving region (the union of the motion boxes, padded) cut from
the full-resolution picture, so a person far away keeps enough pixels. A sighting is checked
again at the next motion frame and labels the event once `min_hits` checks in a row saw
someone in the same place (`confirmed`). A sighting counts only where something moves in
that frame: a person-like pattern that stays put (a railing, a poster, a coat on a hook)
would otherwise be confirmed by every check. Where the detector
runs (inline, or on its own thread that never holds up the motion loop) is the runner's
business: `Runner`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from capture.frame import Frame, MainImage
from capture.media.picture import bgr_region, bgr_size
from config.people import PeopleConfig
from motion.people import PeopleDetector

Box = tuple[float, float, float, float]

PAD = 0.25  # the region grows by this fraction of its size on every side
MAX_SIDE = 480  # the region is scaled down to this many pixels on its longer side
MIN_REGION = 0.2  # a region narrower or lower than this fraction of the frame is widened


@dataclass(frozen=True, slots=True)
class PeopleCheck:
    event_id: int
    seq: int
    pts: float
    image: np.ndarray  # the region, BGR, at most MAX_SIDE on its longer side
    region: Box  # where the region lies in the frame (fractions)
    moving: tuple[Box, ...] = ((0.0, 0.0, 1.0, 1.0),)  # the frame's motion boxes


@dataclass(frozen=True, slots=True)
class PeopleFound:
    event_id: int
    seq: int
    pts: float
    boxes: tuple[Box, ...]  # people seen, as fractions of the whole frame
    seconds: float  # the detector's time on this check


class Runner(Protocol):
    """Runs checks somewhere; `results` hands back those finished since the last call."""

    def submit(self, check: PeopleCheck) -> None: ...

    def results(self) -> list[PeopleFound]: ...

    def finish(self) -> None:
        """Let the checks already submitted finish (bounded in time): end of input."""
        ...


def region_of(boxes: Sequence[Box]) -> Box:
    """The union of `boxes`, padded and widened to MIN_REGION, clipped to the frame."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = max((x1 - x0) * (1 + 2 * PAD), MIN_REGION)
    h = max((y1 - y0) * (1 + 2 * PAD), MIN_REGION)
    x0, x1 = max(0.0, cx - w / 2), min(1.0, cx + w / 2)
    y0, y1 = max(0.0, cy - h / 2), min(1.0, cy + h / 2)
    return (x0, y0, x1 - x0, y1 - y0)


def pixels(region: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """The region of a width x height picture in pixels: x0, y0, x1, y1 (end exclusive)."""
    x0, y0 = int(region[0] * width), int(region[1] * height)
    x1 = max(x0 + 1, round((region[0] + region[2]) * width))
    y1 = max(y0 + 1, round((region[1] + region[3]) * height))
    return x0, y0, x1, y1


def cut(picture: np.ndarray, region: Box) -> np.ndarray:
    """The region of `picture`, scaled down to MAX_SIDE, as a copy of its own."""
    x0, y0, x1, y1 = pixels(region, picture.shape[1], picture.shape[0])
    return _fit(picture[y0:y1, x0:x1])


def cut_main(main: MainImage, region: Box) -> np.ndarray:
    """`cut(main.to_bgr(), region)`, pixel for pixel, converting only the region when the
    picture allows (a 1080p picture whole in BGR is 6 MB, three a second)."""
    return _fit(bgr_region(main, pixels(region, *bgr_size(main))))


def _fit(part: np.ndarray) -> np.ndarray:
    side = max(part.shape[:2])
    if side > MAX_SIDE:
        f = MAX_SIDE / side
        size = (max(1, round(part.shape[1] * f)), max(1, round(part.shape[0] * f)))
        return cv2.resize(part, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(part)


def to_frame(box: Box, region: Box) -> Box:
    """A box in region fractions as frame fractions."""
    return (region[0] + box[0] * region[2], region[1] + box[1] * region[3],
            box[2] * region[2], box[3] * region[3])


def overlaps(a: Box, b: Box, share: float = 0.3) -> bool:
    """Whether the boxes' intersection is at least `share` of the smaller one."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return False
    return w * h >= share * min(a[2] * a[3], b[2] * b[3])


def confirmed(hits: Sequence[Sequence[Box]], needed: int) -> bool:
    """Whether the last `needed` checks that found someone each found them where the one
    before did (a person stays; a pattern of leaves or a car's grille seldom fools the
    detector twice in the same place)."""
    if len(hits) < needed:
        return False
    chain = hits[len(hits) - needed:]
    return all(any(overlaps(a, b) for a in before for b in after)
               for before, after in itertools.pairwise(chain))


def run_check(detector: PeopleDetector, check: PeopleCheck) -> PeopleFound:
    t0 = time.perf_counter()
    people = detector.detect(check.image)
    seconds = time.perf_counter() - t0
    boxes = (to_frame(p.box, check.region) for p in people)
    return PeopleFound(check.event_id, check.seq, check.pts,
                       tuple(b for b in boxes if any(overlaps(b, m) for m in check.moving)),
                       seconds)


class Inline:
    """Runs each check at once, on the caller's thread (`doorcam detect`, benchmarks)."""

    def __init__(self, detector: PeopleDetector) -> None:
        self.detector = detector
        self._done: list[PeopleFound] = []

    def submit(self, check: PeopleCheck) -> None:
        self._done.append(run_check(self.detector, check))

    def results(self) -> list[PeopleFound]:
        done, self._done = self._done, []
        return done

    def finish(self) -> None:
        pass


class PeopleStage:
    """Picks the frames to check and hands them to a runner; see the module docstring."""

    def __init__(self, cfg: PeopleConfig, runner: Runner) -> None:
        self.cfg = cfg
        self.runner = runner
        self._gap = 1.0 / cfg.checks_per_second
        self._last: tuple[int, float] = (0, float("-inf"))  # event id, pts of its last check
        self._confirm = 0  # an event whose next motion frame is checked at once
        self.checks = 0

    def due(self, event_id: int, pts: float) -> bool:
        last_id, last_pts = self._last
        return (last_id != event_id or event_id == self._confirm
                or pts - last_pts >= self._gap - 1e-6)

    def confirm(self, event_id: int) -> None:
        """A check of this event found someone: check its next motion frame at once, while
        the person is still there (one check more per sighting, not a faster rate)."""
        self._confirm = event_id

    def offer(self, frame: Frame, result: Any, event_id: int | None) -> PeopleCheck | None:
        """Submit a check of this frame if one is due; the check, or None."""
        if event_id is None or not result.motion or not result.boxes:
            return None
        if not self.due(event_id, frame.pts):
            return None
        self._last = (event_id, frame.pts)
        if self._confirm == event_id:
            self._confirm = 0
        region = region_of(result.boxes)
        check = PeopleCheck(event_id, frame.seq, frame.pts, cut_main(frame.main, region),
                            region, tuple(result.boxes))
        self.checks += 1
        self.runner.submit(check)
        return check

    def results(self) -> list[PeopleFound]:
        return self.runner.results()

    def finish(self) -> None:
        self.runner.finish()
