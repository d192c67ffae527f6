"""Rain over real footage (capture.sources.rain): by day over the real street of issue53, at
night under the IR illuminator over the same street darkened; over the wavingtrees visitor
and the highway's cars. Nobody is in the street: nobody may be labelled, and rain alone
raises no motion event; the visitor and the cars still start theirs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.sources.rain import RainField, night_rain, rained, rained_night
from capture.sources.relit import looped, no_pools, relit
from config import MotionConfig
from config.people import PeopleConfig
from motion import MotionDetector
from motion.people import make_people_detector
from tests.people.footage import (
    STREET_FPS,
    STREET_MASK,
    WAVINGTREES_PERSON,
    events_and_people,
    frames_of,
)

FPS = STREET_FPS
MASK = STREET_MASK
SECONDS = 26.0


def starts(frames: list[np.ndarray], fps: float, cfg: MotionConfig) -> list[int]:
    h, w = frames[0].shape
    motion = MotionDetector(cfg, w, h)
    res = [motion.process(g, i / fps) for i, g in enumerate(frames)]
    return [i for i, r in enumerate(res) if r.transition and r.transition.kind == "start"]


@pytest.fixture(scope="module")
def day(street: list[np.ndarray]) -> list[np.ndarray]:
    return rained(looped(street, round(SECONDS * FPS)), FPS, "moderate")


@pytest.fixture(scope="module")
def night(street: list[np.ndarray]) -> list[np.ndarray]:
    return rained_night(street, FPS, "heavy")


def test_the_rain_really_changes_the_pictures(street: list[np.ndarray]) -> None:
    """The precondition. By day streaks show on every frame, a few gray levels bright; at
    night drops near the lens pass the detector's night threshold (10) by far."""
    field = RainField(night_rain("heavy"), 320, 360, FPS, 0)
    bright, share = [], []
    for gray in looped(street, 60):
        dark = (gray.astype(np.float32) * 0.4).astype(np.uint8)
        wet = field.over(dark)
        bright.append(field.brightest)
        share.append(float(np.mean(wet.astype(np.int16) - dark > 10)))
        assert field.streaks > 100
    assert max(bright) > 100 and np.median(share) > 0.003
    wet = rained(street[:12], FPS, "heavy")
    changed = [float(np.mean(np.abs(w.astype(np.int16) - s) > 4)) for w, s in zip(wet, street[:12],
                                                                                  strict=True)]
    assert min(changed) > 0.05


def test_no_person_in_rain(day: list[np.ndarray], night: list[np.ndarray]) -> None:
    """Neither in the regions the stage checks nor on every 12th whole picture."""
    detector = make_people_detector(PeopleConfig(), Path("unused"))
    for frames in (day, night):
        _, people, _ = events_and_people(frames)
        assert people == []
        for i in range(0, len(frames), 12):
            assert detector.detect(cv2.cvtColor(frames[i], cv2.COLOR_GRAY2BGR)) == [], i


@pytest.mark.parametrize("intensity", ["light", "moderate", "heavy"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_motion_event_in_day_rain(street: list[np.ndarray], intensity: str,
                                     seed: int) -> None:
    frames = rained(looped(street, round(SECONDS * FPS)), FPS, intensity, seed)
    assert starts(frames, FPS, MotionConfig(mask=MASK)) == []


@pytest.mark.parametrize("intensity", ["light", "moderate", "heavy"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_motion_event_in_night_rain(street: list[np.ndarray], intensity: str,
                                       seed: int) -> None:
    """Drops near the lens, lit by the illuminator: bright streaks, new in every frame."""
    frames = rained_night(street, FPS, intensity, seed=seed)
    assert starts(frames, FPS, MotionConfig(mask=MASK)) == []


def test_the_visitor_in_rain_is_caught_and_labelled(test_data: Path) -> None:
    """wavingtrees (160x120, 15 frames/s) in heavy rain: the event starts soon after the
    person appears and the stage labels them."""
    real = [f.lores for f in frames_of(test_data / "wavingtrees" / "input")]
    wet = rained(real, 15.0, "heavy", seed=3)
    begun, found, _ = events_and_people(wet, 15.0, MotionConfig())
    assert begun and WAVINGTREES_PERSON <= begun[0] <= WAVINGTREES_PERSON + 10
    assert found and min(found) >= WAVINGTREES_PERSON


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_visitor_at_night_in_rain_starts_the_event_as_on_a_dry_night(test_data: Path,
                                                                        seed: int) -> None:
    """wavingtrees darkened to an IR-lit night (no headlights), dry and in heavy rain: the
    event starts within a few frames of the person's first, and the rain (whose streaks the
    detector leaves out at night) delays it by at most a frame."""
    real = [f.lores for f in frames_of(test_data / "wavingtrees" / "input")]
    seconds = len(real) / 15.0  # once through, in order
    dry = relit(real, 15.0, seconds, seed, no_pools)
    wet = rained_night(real, 15.0, "heavy", seconds, seed)
    # Precondition: night, and drops near the lens far brighter than the sensor's noise.
    assert float(np.mean(dry[0])) < 80
    assert max(float(np.mean(w.astype(np.int16) - d > 40)) for w, d in zip(wet, dry,
                                                                          strict=True)) > 0.01
    before, after = starts(dry, 15.0, MotionConfig()), starts(wet, 15.0, MotionConfig())
    assert before and WAVINGTREES_PERSON <= before[0] <= WAVINGTREES_PERSON + 4, before
    assert after and WAVINGTREES_PERSON <= after[0] <= before[0] + 1, (before, after)


def test_cars_in_rain_still_start_their_event(test_data: Path) -> None:
    paths = sorted((test_data / "highway" / "input").glob("in*.jpg"))[470:720]
    real = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths]
    assert starts(rained(real, 25.0, "heavy", seed=4), 25.0, MotionConfig())
