"""Synthetic scenes: determinism, ground truth, and consistency of lores with main."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from capture.frame import SourceError
from capture.sources import open_source
from capture.sources.base import lores_size, to_lores
from capture.sources.synthetic import SyntheticSource, parse_spec
from config.schema import CaptureConfig

CFG = CaptureConfig(lores_width=160)


def synth(spec: str, cfg: CaptureConfig = CFG) -> SyntheticSource:
    src = open_source(spec, cfg, pace=None)
    assert isinstance(src, SyntheticSource)
    return src


def test_defaults_and_parameters() -> None:
    assert parse_spec("synthetic:porch") == parse_spec("synthetic:")
    p = parse_spec("synthetic:approach?seconds=3&fps=10&size=320x180&seed=7")
    assert (p.scene, p.seconds, p.fps, p.width, p.height, p.seed) == (
        "approach", 3.0, 10.0, 320, 180, 7)
    src = synth("synthetic:porch?seconds=2&fps=10&size=320x180")
    assert (src.info.width, src.info.height, src.info.fps, src.info.frames) == (320, 180, 10, 20)
    frames = list(src.frames())
    assert len(frames) == 20 and frames[5].lores.shape == (90, 160)
    assert frames[5].main.to_bgr().shape == (180, 320, 3)
    assert frames[5].pts == pytest.approx(0.5)


@pytest.mark.parametrize(("spec", "message"), [
    ("synthetic:garden", r"unknown synthetic scene 'garden' \(known: porch, empty"),
    ("synthetic:porch?speed=2", r"unknown parameter\(s\) speed"),
    ("synthetic:porch?size=big", r"bad parameter value"),
    ("synthetic:porch?fps=0", r"need 0 < seconds"),
    ("synthetic:porch?seed=-1", r"seed=-1: seed is a whole number 0 or more"),  # numpy's error
])
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        open_source(spec, CFG, pace=None)


def test_same_seed_same_frames_other_seed_differs() -> None:
    spec = "synthetic:porch?seconds=3&size=160x120&seed={}"
    a = [(f.lores, f.main.to_bgr()) for f in synth(spec.format(1)).frames()]
    b = [(f.lores, f.main.to_bgr()) for f in synth(spec.format(1)).frames()]
    c = [f.lores for f in synth(spec.format(2)).frames()]
    for (la, ma), (lb, mb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(la, lb)
        np.testing.assert_array_equal(ma, mb)
    assert not np.array_equal(a[0][0], c[0])
    assert not np.array_equal(a[1][0], a[2][0]), "sensor noise changes every frame"


def test_porch_truth_has_two_visits_and_one_exposure_jump() -> None:
    src = synth("synthetic:porch?size=160x120")
    assert len(src.visits) == 2
    (a0, a1), (b0, b1) = src.visits
    assert a1 - a0 > b1 - b0 > 15, "the second visit is shorter"
    assert src.light_changes and all(a1 < j < b0 or j > b1 for j in src.light_changes)
    assert src.truth(a0) and not src.truth(a0 - 1) and not src.truth(0)
    frames = list(src.frames())
    bg = frames[a0 - 5].lores.astype(np.int16)
    assert np.abs(frames[(a0 + a1) // 2].lores - bg).max() > 60, "the person is drawn"
    j = src.light_changes[0]
    jump = frames[j].lores.mean() - frames[j - 1].lores.mean()
    assert jump > 15, "sudden exposure jump"
    assert abs(frames[j - 1].lores.mean() - frames[j - 2].lores.mean()) < 2


def test_empty_and_lights_have_no_visits_but_lights_changes() -> None:
    assert synth("synthetic:empty?size=160x120").visits == []
    lights = synth("synthetic:lights?size=160x120")
    assert lights.visits == [] and len(lights.light_changes) == 3
    means = [f.lores.mean() for f in lights.frames()]
    for j in lights.light_changes:
        assert abs(means[j] - means[j - 1]) > 10


def test_approach_fills_most_of_the_frame() -> None:
    src = synth("synthetic:approach?size=160x120")
    (a0, a1), = src.visits
    frames = list(src.frames())
    base = frames[0].lores.astype(np.int16)
    changed = [float((np.abs(f.lores - base) > 30).mean()) for f in frames]
    assert changed[a0 + 5] < 0.15
    assert max(changed) > 0.5 and a0 < int(np.argmax(changed)) <= a1


@pytest.mark.parametrize("scene", ["porch", "lights", "approach"])
def test_lores_matches_downscaled_main(scene: str) -> None:
    src = synth(f"synthetic:{scene}?size=640x480&seconds=12&fps=5")
    size = lores_size(640, 480, 160)
    for f in list(src.frames())[::6]:
        ref = to_lores(cv2.cvtColor(f.main.to_bgr(), cv2.COLOR_BGR2GRAY), size)
        assert np.abs(ref.astype(np.int16) - f.lores).mean() < 2.5


def test_loop_continues() -> None:
    src = synth("synthetic:empty?seconds=1&fps=10&size=64x48",
                CaptureConfig(lores_width=64, loop=True))
    frames = []
    for f in src.frames():
        frames.append(f)
        if len(frames) == 25:
            break
    assert [f.seq for f in frames] == list(range(25))
    assert frames[24].pts == pytest.approx(2.4)
    np.testing.assert_array_equal(frames[3].lores, frames[13].lores)


def test_night_is_a_dim_gray_noisy_ir_picture() -> None:
    src = synth("synthetic:night?size=640x480&seconds=2")
    assert src.visits == []
    frames = list(src.frames())
    bgr = frames[3].main.to_bgr()
    assert np.array_equal(bgr[..., 0], bgr[..., 2]), "IR pictures are gray"
    lo = [f.lores.astype(np.float32) for f in frames]
    assert 25 < lo[0].mean() < 60
    h, w = lo[0].shape
    centre, corner = lo[0][h // 3 : 2 * h // 3, w // 3 : 2 * w // 3], lo[0][: h // 6, : w // 6]
    assert centre.mean() > 1.3 * corner.mean(), "the illuminator's cone"
    assert 1.5 < np.std(lo[1] - lo[0]) < 8, "strong sensor noise"


def test_headlight_pools_move_and_change_shape() -> None:
    src = synth("synthetic:headlights?size=160x120&fps=10")
    assert src.visits == []
    frames = [f.lores.astype(np.float32) for f in src.frames()]
    dark = frames[10]
    lit = [i for i in range(src.count) if src.state(i).lights]
    ratios = {i: cv2.GaussianBlur(frames[i], (9, 9), 0) / (cv2.GaussianBlur(dark, (9, 9), 0) + 4)
              for i in lit}
    first = [i for i in lit if i < 50]  # the wall pass, 2.0-4.5 s
    xs = [float(np.argmax(ratios[i].max(axis=0))) / 160 for i in first]
    assert max(xs) - min(xs) > 0.6, "the pool travels across the wall"
    lit_share = [float(np.mean(ratios[i] > 1.3)) for i in lit]
    assert min(lit_share) < 0.1 < 0.5 < max(lit_share), "small pools and frame-wide passes"
    assert all(np.ptp(ratios[i]) > 0.5 for i in range(26, 40)), "light varies across the frame"


def test_night_visitor_walks_through_headlights_on_its_third_visit() -> None:
    src = synth("synthetic:night-visitor?size=160x120")
    assert len(src.visits) == 3
    assert not any(src.state(i).lights for a, b in src.visits[:2] for i in range(a, b + 1))
    a = src.visits[2][0]
    assert all(src.state(i).lights for i in range(a, a + 20))


@pytest.mark.parametrize("scene", ["night", "headlights", "night-visitor"])
def test_night_lores_matches_downscaled_main(scene: str) -> None:
    src = synth(f"synthetic:{scene}?size=640x480&seconds=24&fps=5")
    size = lores_size(640, 480, 160)
    for f in list(src.frames())[::6]:
        ref = to_lores(cv2.cvtColor(f.main.to_bgr(), cv2.COLOR_BGR2GRAY), size)
        # The two carry independent strong noise: compare the pictures under it.
        a = cv2.GaussianBlur(ref, (5, 5), 0).astype(np.int16)
        assert np.abs(a - cv2.GaussianBlur(f.lores, (5, 5), 0)).mean() < 1.5
