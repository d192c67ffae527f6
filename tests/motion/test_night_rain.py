"""A visitor at night in rain under the IR illuminator (capture.sources.rain over the
synthetic night porch): the drops near the lens are bright streaks, new in every frame,
which the detector leaves out; the visitor must still start an event as soon as on a dry
night."""

from __future__ import annotations

import numpy as np
import pytest

from capture.sources.rain import rained_dark
from capture.sources.synthetic import SyntheticSource
from config.schema import MotionConfig
from motion import MotionDetector

FPS = 25
W, H = 320, 240  # lores of the 640x480 scene
WITHIN = 5  # frames from the first frame showing any part of the person (dry nights)
LATER = 1  # frames the rain may add to that
# Where the rain still delays a visitor by more than LATER, frames to the event per visit,
# dry -> rain: the drops' flicker raises the per-pixel thresholds over the dim visitor
# entering at the picture's edge, and the opening then erases what is left of him.
LATE = {
    (0, "moderate"): "2 -> 2, 5 -> 14, 5 -> 5",
    (0, "heavy"): "2 -> 2, 5 -> 6, 5 -> 7",
}


def frames_to_event(frames: list[np.ndarray], visits: list[tuple[int, int]]) -> list[int]:
    """For each visit, frames from the first showing the person to an active event."""
    det = MotionDetector(MotionConfig(), W, H)
    active = [det.process(f, i / FPS).event_active for i, f in enumerate(frames)]
    return [next((i - a for i in range(a, b + 1) if active[i]), b + 1 - a) for a, b in visits]


def cases() -> list[object]:
    out: list[object] = []
    for seed in (0, 1, 2, 3):
        for intensity in ("moderate", "heavy"):
            late = LATE.get((seed, intensity))
            marks = [pytest.mark.xfail(strict=True, reason=f"late in rain: {late}")
                     ] if late else []
            out.append(pytest.param(seed, intensity, marks=marks, id=f"{seed}-{intensity}"))
    return out


@pytest.mark.parametrize(("seed", "intensity"), cases())
def test_night_visitors_in_rain_are_caught_as_soon_as_on_a_dry_night(seed: int,
                                                                     intensity: str) -> None:
    src = SyntheticSource(f"synthetic:night-visitor?fps={FPS}&size=640x480&seed={seed}", W)
    dry = [f.lores for f in src.frames()]
    wet = rained_dark(dry, FPS, intensity, seed)
    # Precondition: the rain is there; its nearest drops pass the detector's night
    # threshold (10) on a share of the picture in most frames, and by far in some.
    gain = [w.astype(np.int16) - d for w, d in zip(wet, dry, strict=True)]
    assert max(int(g.max()) for g in gain) > 25
    assert np.median([float(np.mean(g > 10)) for g in gain]) > 0.003
    assert len(src.visits) == 3
    before = frames_to_event(dry, src.visits)
    assert max(before) <= WITHIN, before
    after = frames_to_event(wet, src.visits)
    assert all(r <= d + LATER for d, r in zip(before, after, strict=True)), (before, after)
