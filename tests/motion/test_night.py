"""Night at a real door (synthetic: no real footage is night): headlights and visitors.

The scenes are `capture`'s synthetic night porch (IR-lit, gray, vignetted, noisy) at 25 fps
and 320x240 lores, as the camera hands them to the detector.
"""

from __future__ import annotations

import numpy as np
import pytest

from capture.sources.light import LightPool, light_field, vignette
from capture.sources.synthetic import SyntheticSource
from config.schema import MotionConfig
from motion import FrameResult, MotionDetector

FPS = 25
W, H = 320, 240  # lores of the 640x480 scene
WITHIN = 5  # frames (0.2 s at 25 fps) from the first frame showing any part of the person
SEEDS = [0, 1, 2, 3]


def detect(name: str, seed: int) -> tuple[SyntheticSource, list[FrameResult]]:
    src = SyntheticSource(f"synthetic:{name}?fps={FPS}&size=640x480&seed={seed}", W)
    det = MotionDetector(MotionConfig(), W, H)
    return src, [det.process(f.lores, f.pts) for f in src.frames()]


def starts(res: list[FrameResult]) -> list[int]:
    return [i for i, r in enumerate(res) if r.transition and r.transition.kind == "start"]


def test_noisy_ir_picture_alone_is_not_motion() -> None:
    _, res = detect("night", 0)
    assert not any(r.motion for r in res)


@pytest.mark.parametrize("seed", SEEDS)
def test_headlights_sweeping_the_porch_raise_no_event(seed: int) -> None:
    src, res = detect("headlights", seed)
    frames = [f.lores for f in src.frames()]
    # Precondition: the light changes much of the picture, in shape and place, not as one
    # gain: a detector without a lighting guard raises an event on every pass.
    lit = [i for i in range(src.count) if src.state(i).lights]
    dark = frames[lit[0] - 1].astype(np.int16)
    changed = [float(np.mean(np.abs(frames[i] - dark) > 25)) for i in lit]
    assert max(changed) > 0.5 and min(changed) < 0.05
    assert starts(res) == []
    assert sum(r.motion for r in res) <= 5


@pytest.mark.parametrize("seed", SEEDS)
def test_night_visitors_are_caught_within_five_frames(seed: int) -> None:
    src, res = detect("night-visitor", seed)
    assert len(src.visits) == 3
    for a, b in src.visits:
        assert any(r.event_active for r in res[a : a + WITHIN + 1]), (a, b)
    for s in starts(res):  # every event is a visitor, not the headlights of the third visit
        assert any(a <= s <= b for a, b in src.visits), s


def test_the_third_visitor_walks_through_sweeping_headlights() -> None:
    src, res = detect("night-visitor", 0)
    a, b = src.visits[2]
    assert all(src.state(i).lights for i in range(a - 10, a + WITHIN + 1))
    assert sum(r.motion for r in res[a : b + 1]) > 0.6 * (b - a + 1)



def test_headlights_on_a_featureless_wall_raise_no_event() -> None:
    """A wall without texture has none for light to show, so the texture test cannot tell
    light from an object there: the re-lit background decides, and a beam is light.
    (Without the texture test's guard every frame of this sweep is motion.)"""
    rng = np.random.default_rng(7)
    ambient = vignette(W, H, 0.3) * np.float32(0.5)  # the IR illuminator's cone
    det = MotionDetector(MotionConfig(), W, H)
    frames = []
    for i in range(4 * FPS):
        t = i / FPS
        beam = LightPool(-0.1 + 1.2 * (t - 1.0) / 2.5, 0.6, 0.08, 0.15, 1.5, 0.0, 0.35)
        light = light_field(ambient, (beam,) if 1.0 <= t <= 3.5 else (), 1.0)
        picture = 90.0 * light + rng.normal(0.0, 3.0, (H, W)).astype(np.float32)
        frames.append(np.clip(picture, 0, 255).astype(np.uint8))
    # Precondition: the beam brightens its part of the wall strongly.
    dark = frames[FPS - 1].astype(np.int16)
    assert max(float(np.mean(np.abs(f - dark) > 25)) for f in frames[FPS:]) > 0.03
    res = [det.process(f, i / FPS) for i, f in enumerate(frames)]
    assert starts(res) == []
    assert sum(r.motion for r in res) <= 5


def test_a_dark_object_entering_while_a_flood_brightens_the_picture_is_caught() -> None:
    """A car's lights flood the left of a dim, featureless wall and raise the scene-wide gain
    (and with it the background where they do not reach); a dark object enters on the right.
    Its darkening exceeds what that overshoot explains, so it is an object, from its entry
    and in every frame until it reaches the light. (Taking every darkening for the flood's
    overshoot while the scene brightens makes it flicker in and out, one frame in two.)"""
    rng = np.random.default_rng(7)
    ambient = vignette(W, H, 0.3) * np.float32(0.5)
    det = MotionDetector(MotionConfig(), W, H)
    yy, xx = np.mgrid[0:H, 0:W]
    first, res, until, level = None, [], 0, 0.0
    for i in range(5 * FPS):
        t = i / FPS
        flood = LightPool(0.15, 0.5, 0.4, 0.7, 1.2 * min(1.0, max(0.0, (t - 1.0) / 2.0)),
                          0.0, 0.8)
        albedo = np.full((H, W), 90.0, np.float32)
        cx = W + 25 - 80.0 * (t - 2.0)  # a disc of radius 25 entering from the right
        disc = (xx - cx) ** 2 + (yy - 0.6 * H) ** 2 < 25**2
        if t >= 2.0 and disc.any():
            albedo[disc] *= 0.4
            first = i if first is None else first
            until = i if cx > 0.6 * W else until
        picture = albedo * light_field(ambient, (flood,), 1.0)
        picture += rng.normal(0.0, 3.0, (H, W)).astype(np.float32)
        level = max(level, float(picture.mean()))
        res.append(det.process(np.clip(picture, 0, 255).astype(np.uint8), t))
    assert first is not None and level < 80  # night all along: the light guard judges blobs
    (start,) = starts(res)
    assert first <= start <= first + WITHIN
    assert all(r.motion for r in res[start : until + 1])
