"""The yolox detector's loading, letterboxing, box decoding, class filter and NMS, on small
models with YOLOX-Nano's inputs and outputs that these tests build (the real model is
fetched by the owner; this machine has no internet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from config.people import PeopleConfig
from motion.people import PeopleError, make_people_detector
from motion.people.yolox import PAD, YoloxDetector, decode, grids, letterbox
from tests.people.onnx_models import ANCHORS, SIZE, anchor_index, build, raw_row

GRAY = np.full((480, 640, 3), PAD, np.uint8)  # letterboxed, the blob's mean is exactly 114


def test_grids_follow_yolox_output_order() -> None:
    cells, strides = grids(SIZE)
    assert len(cells) == ANCHORS == 3549
    i = anchor_index(16, 3, 5)
    assert tuple(cells[i]) == (3, 5) and strides[i, 0] == 16
    assert tuple(cells[anchor_index(32, 12, 12)]) == (12, 12)


def test_letterbox_keeps_the_aspect_pads_with_114_and_keeps_bgr() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    image[..., 0] = 200  # blue
    blob, r = letterbox(image, SIZE)
    assert blob.shape == (1, 3, SIZE, SIZE) and blob.dtype == np.float32
    assert r == pytest.approx(416 / 640)
    rows = int(480 * r)
    assert (blob[0, 0, :rows] == 200).all() and (blob[0, 1:, :rows] == 0).all()
    assert (blob[0, :, rows:] == PAD).all()  # padding below, none on the right


def test_a_person_is_decoded_back_to_picture_fractions(tmp_path: Path) -> None:
    r = 416 / 640
    # A person centred at (320, 240) in the 640x480 picture, 100x300 pixels.
    row = raw_row(16, 320 * r, 240 * r, 100 * r, 300 * r, 0.9, 0, 0.95)
    model = build(tmp_path / "m.onnx", {anchor_index(16, int(320 * r // 16),
                                                     int(240 * r // 16)): row})
    found = YoloxDetector(model, 0.5).detect(GRAY)
    assert len(found) == 1
    x, y, w, h = found[0].box
    assert (x, y, w, h) == pytest.approx((270 / 640, 90 / 480, 100 / 640, 300 / 480),
                                         abs=2e-3)
    assert found[0].score == pytest.approx(0.9 * 0.95, abs=0.01)
    assert found[0].by == "yolox"


def test_other_classes_weak_scores_and_duplicates_are_dropped(tmp_path: Path) -> None:
    rows = {
        anchor_index(8, 10, 10): raw_row(8, 84, 84, 40, 100, 0.9, 0, 0.9),  # person
        anchor_index(8, 11, 10): raw_row(8, 90, 84, 40, 100, 0.9, 0, 0.8),  # same, NMS
        anchor_index(8, 40, 40): raw_row(8, 324, 324, 60, 40, 0.95, 2, 0.95),  # a car
        anchor_index(32, 2, 2): raw_row(32, 80, 80, 50, 120, 0.5, 0, 0.6),  # 0.3: too weak
        anchor_index(16, 20, 5): raw_row(16, 330, 90, 50, 120, 0.8, 0, 0.9),  # person 2
    }
    model = build(tmp_path / "m.onnx", rows)
    found = sorted(YoloxDetector(model, 0.5).detect(np.full((416, 416), PAD, np.uint8)),
                   key=lambda p: p.box[0])
    # (cv2.dnn's float32 mean of 114s is 114 to within 1%)
    assert [p.score for p in found] == [pytest.approx(0.81, abs=0.01),
                                        pytest.approx(0.72, abs=0.01)]
    assert found[0].box[0] == pytest.approx((84 - 20) / 416, abs=1e-3)


def test_the_blob_is_the_letterboxed_picture(tmp_path: Path) -> None:
    """A darker picture makes the model's mean, and so the score, lower: the detector gives
    the model the picture itself, BGR 0..255, not a normalised or resized-away blob."""
    row = raw_row(8, 84, 84, 40, 100, 1.0, 0, 0.8)
    model = build(tmp_path / "m.onnx", {anchor_index(8, 10, 10): row})
    det = YoloxDetector(model, 0.5)
    assert [p.score for p in det.detect(GRAY)] == [pytest.approx(0.8, abs=0.01)]
    # Half the picture black: (0.5 * 0 + 0.5 * 114) / 114 of the score, below 0.5.
    half = GRAY.copy()
    half[:240] = 0
    assert det.detect(half) == []


def test_a_model_of_another_shape_is_refused_at_load(tmp_path: Path) -> None:
    wrong = build(tmp_path / "w.onnx", {}, anchors=100)
    with pytest.raises(PeopleError, match="not a YOLOX detector"):
        YoloxDetector(wrong)


def test_missing_and_broken_model_files_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PeopleError, match="install-model"):
        make_people_detector(PeopleConfig(detector="yolox"), tmp_path / "none.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"<html>not found</html>")
    with pytest.raises(PeopleError, match="not an ONNX model"):
        YoloxDetector(junk)


def test_decode_refuses_output_of_the_wrong_size() -> None:
    with pytest.raises(PeopleError, match="output"):
        decode(np.zeros((10, 85), np.float32), SIZE, 1.0, 416, 416, 0.5)


def test_the_factory_builds_the_yolox_detector(tmp_path: Path) -> None:
    model = build(tmp_path / "m.onnx", {})
    det = make_people_detector(PeopleConfig(detector="yolox", min_score=0.3), model)
    assert det.name == "yolox" and det.detect(GRAY) == []
