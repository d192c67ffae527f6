"""A region or a scaled copy of a picture without converting the whole of it to BGR."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.media.decode import AvMainImage
from capture.media.picture import bgr_region, bgr_scaled, bgr_size
from capture.privacy import PrivacyMask
from capture.sources import open_source
from capture.sources.base import ArrayImage
from config.schema import CaptureConfig


def pictures(source: str, every: int, count: int, **kw: object) -> list:
    src = open_source(source, CaptureConfig(), pace=None, **kw)  # type: ignore[arg-type]
    try:
        return [f.main for f in itertools.islice(src.frames(), 0, every * count, every)]
    finally:
        src.close()


def regions(width: int, height: int, n: int, seed: int) -> list[tuple[int, int, int, int]]:
    rnd = random.Random(seed)
    out = [(0, 0, width, height), (1, 1, width - 1, height - 1), (width - 1, height - 1,
                                                                  width, height)]
    for _ in range(n):
        x0, y0 = rnd.randrange(width), rnd.randrange(height)
        out.append((x0, y0, rnd.randrange(x0 + 1, width + 1), rnd.randrange(y0 + 1, height + 1)))
    return out


def test_a_region_is_the_whole_conversion_pixel_for_pixel(test_data: Path) -> None:
    """Real footage (H.264, video range): odd and even edges, the whole frame, one pixel."""
    mains = pictures(str(test_data / "dvrscan" / "traffic_camera.mp4"), 40, 4)
    assert mains and all(isinstance(m, AvMainImage) for m in mains)
    for i, main in enumerate(mains):
        whole = main.av_frame.to_ndarray(format="bgr24")
        assert bgr_size(main) == (whole.shape[1], whole.shape[0])
        for x0, y0, x1, y1 in regions(whole.shape[1], whole.shape[0], 40, i):
            part = bgr_region(main, (x0, y0, x1, y1))
            assert part.flags.c_contiguous
            assert np.array_equal(part, whole[y0:y1, x0:x1]), (i, x0, y0, x1, y1)


def test_a_region_of_a_full_range_picture(make_video) -> None:  # type: ignore[no-untyped-def]
    mains = pictures(str(make_video("j.avi", "mjpeg", frames=3, size=(162, 118))), 1, 3)
    assert mains[0].av_frame.format.name == "yuvj420p"
    for main in mains:
        whole = main.to_bgr()
        for x0, y0, x1, y1 in regions(162, 118, 30, 7):
            assert np.array_equal(bgr_region(main, (x0, y0, x1, y1)), whole[y0:y1, x0:x1])


def test_other_pictures_are_cut_from_their_own_conversion() -> None:
    bgr = np.random.default_rng(3).integers(0, 256, (50, 70, 3), np.uint8)
    main = ArrayImage(bgr)
    part = bgr_region(main, (3, 5, 20, 41))
    assert np.array_equal(part, bgr[5:41, 3:20]) and part.flags.c_contiguous
    assert bgr_size(main) == (70, 50)
    assert bgr_scaled(main, (70, 50)) is bgr
    assert np.array_equal(bgr_scaled(main, (35, 25)),
                          cv2.resize(bgr, (35, 25), interpolation=cv2.INTER_AREA))


def test_scaled_while_converting_matches_scaling_the_conversion(test_data: Path) -> None:
    main = pictures(str(test_data / "dvrscan" / "traffic_camera.mp4"), 1, 1)[0]
    w, h = bgr_size(main)
    small = bgr_scaled(main, (w // 2 + 1, h // 2 - 1))
    assert small.shape == (h // 2 - 1, w // 2 + 1, 3)
    reference = cv2.resize(main.to_bgr(), (w // 2 + 1, h // 2 - 1),
                           interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - reference).mean() < 2.0


@pytest.mark.parametrize("part", ["region", "scaled"])
def test_masked_pictures_keep_their_masks(make_video, part: str) -> None:  # type: ignore[no-untyped-def]
    video = make_video("in.mp4", frames=5, size=(320, 240))
    mask = PrivacyMask([[[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]])  # right half
    main = pictures(str(video), 1, 1, privacy=mask)[0]
    out = (bgr_region(main, (0, 0, 320, 240)) if part == "region"
           else bgr_scaled(main, (160, 120)))
    w = out.shape[1]
    assert out[:, w // 2 + 2:].max() < 24 and out[:, : w // 2 - 10].mean() > 40
