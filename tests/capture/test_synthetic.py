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
