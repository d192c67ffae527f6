"""Headlights sweeping real footage at night (capture.sources.relit over the real
residential camera's street of issue53): nobody is there, so nobody may be labelled."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.sources.relit import pools_at, relit
from config import MotionConfig
from config.people import PeopleConfig
from device.wiring.people import Inline, PeopleStage
from motion import MotionDetector
from motion.people import make_people_detector
from tests.people.footage import frame

FPS = 12.0  # the file's own rate
# The on-screen clock and camera name of the file (as bench_motion masks them).
MASK = [[[0.0, 0.03], [0.31, 0.03], [0.31, 0.095], [0.0, 0.095]],
        [[0.70, 0.87], [0.86, 0.87], [0.86, 0.935], [0.70, 0.935]]]


@pytest.fixture(scope="module")
def street(test_data: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(test_data / "dvrscan" / "issue53_brightness_change.avi"))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        frames.append(cv2.resize(gray, (320, 360), interpolation=cv2.INTER_AREA))
    cap.release()
    assert len(frames) == 59
    return frames


@pytest.fixture(scope="module")
def night(street: list[np.ndarray]) -> list[np.ndarray]:
    return relit(street, FPS)


def events_and_people(frames: list[np.ndarray]) -> tuple[list[int], list[int], int]:
    motion = MotionDetector(MotionConfig(mask=MASK), 320, 360)
    stage = PeopleStage(PeopleConfig(), Inline(make_people_detector(PeopleConfig(),
                                                                    Path("unused"))))
    events, people, event = [], [], 0
    for seq, gray in enumerate(frames):
        f = frame(seq, gray, FPS)
        r = motion.process(f.lores, f.pts)
        if r.transition is not None and r.transition.kind == "start":
            event = r.transition.event_id
            events.append(seq)
        if r.event_active and stage.offer(f, r, event) is not None:
            people.extend(seq for found in stage.results() if found.boxes)
    return events, people, stage.checks


def test_the_sweeps_really_light_the_scene(night: list[np.ndarray]) -> None:
    """The precondition: each sweep changes the picture strongly where it passes."""
    lit = [i for i in range(len(night)) if pools_at(i / FPS)]
    dark = [i for i in range(len(night)) if not pools_at(i / FPS)]
    assert len(lit) > 100 and dark
    change = [float(np.abs(night[i].astype(np.int16) - night[dark[0]]).max()) for i in lit]
    assert np.median(change) > 100


def test_no_person_in_headlights(night: list[np.ndarray]) -> None:
    """Whatever the motion detector makes of the sweeps, the people stage sees nobody:
    neither in the regions it checks nor in every 6th whole picture while light sweeps."""
    _, people, _ = events_and_people(night)
    assert people == []
    detector = make_people_detector(PeopleConfig(), Path("unused"))
    for i in range(0, len(night), 6):
        if pools_at(i / FPS):
            assert detector.detect(cv2.cvtColor(night[i], cv2.COLOR_GRAY2BGR)) == [], i


def test_no_motion_event_in_headlights(night: list[np.ndarray]) -> None:
    events, _, _ = events_and_people(night)
    assert events == []


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_motion_event_in_headlights_under_other_noise(street: list[np.ndarray],
                                                         seed: int) -> None:
    """The same sweeps with other sensor noise: the light guard does not pass by luck."""
    motion = MotionDetector(MotionConfig(mask=MASK), 320, 360)
    res = [motion.process(gray, i / FPS) for i, gray in enumerate(relit(street, FPS, seed=seed))]
    assert [i for i, r in enumerate(res) if r.transition and r.transition.kind == "start"] == []
