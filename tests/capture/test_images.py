"""Image folders and printf patterns."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.frame import SourceError
from capture.sources import open_source
from capture.sources.images import ImageSource
from config.schema import CaptureConfig

CFG = CaptureConfig(lores_width=64, fps=10.0)


def test_folder_in_natural_order(image_folder: Path, square_x) -> None:
    src = open_source(str(image_folder), CFG, pace=None)
    assert isinstance(src, ImageSource)
    assert (src.info.width, src.info.height, src.info.frames) == (96, 64, 12)
    assert src.info.codec == "png" and src.info.fps == 10.0
    frames = list(src.frames())
    assert [f.seq for f in frames] == list(range(12))
    assert [f.pts for f in frames] == pytest.approx([i / 10 for i in range(12)])
    # frame10.png sorts before frame2.png as text; natural order keeps the square moving right
    assert np.all(np.diff([square_x(f.lores) for f in frames]) > 0)
    f = frames[0]
    assert f.lores.shape == (42, 64) and f.lores.dtype == np.uint8 and f.packets == []
    bgr = f.main.to_bgr()
    np.testing.assert_array_equal(bgr, cv2.imread(str(image_folder / "frame2.png")))


def test_printf_pattern_and_default_fps(image_folder: Path) -> None:
    for i in range(3):
        cv2.imwrite(str(image_folder / f"in{i + 1:04d}.jpg"), np.full((64, 96, 3), 40 * i,
                                                                      np.uint8))
    src = open_source(str(image_folder / "in%04d.jpg"), CaptureConfig(lores_width=64),
                      pace=None)
    frames = list(src.frames())
    assert len(frames) == 3 and src.info.fps == 25.0 and src.info.codec == "jpeg"
    assert frames[2].pts == pytest.approx(2 / 25)
    assert [int(f.lores.mean() / 40 + 0.5) for f in frames] == [0, 1, 2]


def test_highway_pattern(test_data: Path) -> None:
    src = open_source(str(test_data / "highway" / "input" / "in%06d.jpg"),
                      CaptureConfig(), pace=None)
    assert (src.info.width, src.info.height, src.info.frames) == (320, 240, 1700)
    frames = list(itertools.islice(src.frames(), 30))
    src.close()
    assert all(f.lores.shape == (240, 320) for f in frames)
    assert not np.array_equal(frames[0].lores, frames[29].lores)


def test_mixed_sizes_name_file_and_both_sizes(image_folder: Path) -> None:
    cv2.imwrite(str(image_folder / "frame7.png"), np.zeros((50, 70, 3), np.uint8))
    src = open_source(str(image_folder), CFG, pace=None)
    with pytest.raises(SourceError, match=r"frame7\.png: image is 70x50, .*started at 96x64"):
        list(src.frames())


def test_corrupt_image_mid_run_is_skipped_and_counted(image_folder: Path) -> None:
    (image_folder / "frame5.png").write_bytes(b"\x89PNG broken")
    src = open_source(str(image_folder), CFG, pace=None)
    assert isinstance(src, ImageSource)
    frames = list(src.frames())
    assert len(frames) == 11 and src.skipped == 1
    assert [f.seq for f in frames] == list(range(11))


def test_corrupt_first_image_is_an_error(image_folder: Path) -> None:
    (image_folder / "frame2.png").write_bytes(b"")
    with pytest.raises(SourceError, match=r"frame2\.png: not an image OpenCV can read"):
        open_source(str(image_folder), CFG, pace=None)


def test_loop_images(image_folder: Path) -> None:
    src = open_source(str(image_folder), CaptureConfig(lores_width=64, fps=10, loop=True),
                      pace=None)
    frames = list(itertools.islice(src.frames(), 30))
    assert [f.seq for f in frames] == list(range(30))
    assert np.allclose(np.diff([f.pts for f in frames]), 0.1)
    np.testing.assert_array_equal(frames[1].lores, frames[25].lores)


@pytest.mark.parametrize(("spec", "message"), [
    ("{d}/empty", r"empty: no image files"),
    ("{d}/nowhere/in%03d.png", r"image folder not found: .*nowhere"),
    ("{d}/empty/in%03d.png", r"in%03d\.png: no files match the pattern"),
])
def test_bad_image_specs(tmp_path: Path, spec: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=message):
        open_source(spec.format(d=tmp_path), CFG, pace=None)
