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
from motion import MotionDetector
from motion.people import make_people_detector
from tests.people.footage import STREET_FPS, STREET_MASK, events_and_people

FPS = STREET_FPS
MASK = STREET_MASK


@pytest.fixture(scope="module")
def night(street: list[np.ndarray]) -> list[np.ndarray]:
    return relit(street, FPS)


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
