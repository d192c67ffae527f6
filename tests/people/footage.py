"""Real footage as the device's frames (lores gray plus the full picture) for the people
stage, and helpers that run the local loop's parts over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from bench.bench_motion import video
from capture.frame import Frame
from capture.sources import open_source
from config import CaptureConfig, MotionConfig
from config.people import PeopleConfig
from device.wiring.people import Inline, PeopleStage
from motion import MotionDetector
from motion.people import make_people_detector

WAVINGTREES_PERSON = 242  # the first frame in which the person shows
STREET = Path("dvrscan") / "issue53_brightness_change.avi"  # a residential camera's street
STREET_FPS = 12.0  # the file's own rate
# The street's on-screen clock and camera name (as bench_motion masks them).
STREET_MASK = [[[0.0, 0.03], [0.31, 0.03], [0.31, 0.095], [0.0, 0.095]],
               [[0.70, 0.87], [0.86, 0.87], [0.86, 0.935], [0.70, 0.935]]]


class Picture:
    """A MainImage over an array already in memory."""

    def __init__(self, bgr: np.ndarray) -> None:
        self._bgr = bgr

    def to_bgr(self) -> np.ndarray:
        return self._bgr


def frames_of(spec: str | Path) -> Iterator[Frame]:
    """Every frame of a file, folder or synthetic scene, as the device's sources give them."""
    src = open_source(str(spec), CaptureConfig(), pace=None)
    try:
        yield from src.frames()
    finally:
        src.close()


def frame(seq: int, gray: np.ndarray, fps: float = 25.0) -> Frame:
    """A frame holding `gray` as both pictures (the lores image and the main one)."""
    return Frame(seq, seq / fps, seq / fps, 1.8e9 + seq / fps, gray,
                 Picture(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)))


def street_frames(test_data: Path) -> list[np.ndarray]:
    """The street's 59 frames, gray, at 320x360 (as the motion bench reads them)."""
    return video(test_data / STREET)[0]


def events_and_people(frames: list[np.ndarray], fps: float = STREET_FPS,
                      cfg: MotionConfig | None = None) -> tuple[list[int], list[int], int]:
    """Where motion events start, the frames in which the people stage found somebody, and
    how many checks it made; by default over the (masked) street."""
    h, w = frames[0].shape
    motion = MotionDetector(cfg or MotionConfig(mask=STREET_MASK), w, h)
    stage = PeopleStage(PeopleConfig(), Inline(make_people_detector(PeopleConfig(),
                                                                    Path("unused"))))
    events, people, event = [], [], 0
    for seq, gray in enumerate(frames):
        f = frame(seq, gray, fps)
        r = motion.process(f.lores, f.pts)
        if r.transition is not None and r.transition.kind == "start":
            event = r.transition.event_id
            events.append(seq)
        if r.event_active and stage.offer(f, r, event) is not None:
            people.extend(seq for found in stage.results() if found.boxes)
    return events, people, stage.checks
