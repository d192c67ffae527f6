"""Shared source pieces: lores geometry and the fast downscale."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from capture.sources.base import lores_size, to_lores


@pytest.mark.parametrize(("w", "h", "lw", "expected"), [
    (1280, 720, 320, (320, 180)), (640, 480, 320, (320, 240)), (960, 1080, 320, (320, 360)),
    (1000, 333, 100, (100, 34)), (320, 240, 320, (320, 240)),
])
def test_lores_size_keeps_aspect_with_even_height(w, h, lw, expected) -> None:
    assert lores_size(w, h, lw) == expected


@pytest.mark.parametrize(("shape", "size"), [
    ((720, 1280), (320, 180)), ((1080, 1920), (320, 180)), ((1080, 960), (320, 360)),
    ((480, 640), (320, 240)),
])
def test_to_lores_matches_single_inter_area(shape, size) -> None:
    rng = np.random.default_rng(5)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (9, 9), 3)
    view = np.pad(smooth, ((0, 0), (0, 32)))[:, : shape[1]]  # strided, like a Y plane
    out = to_lores(view, size)
    ref = cv2.resize(smooth, size, interpolation=cv2.INTER_AREA)
    assert out.shape == ref.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.abs(out.astype(np.int16) - ref).max() <= 1


def test_to_lores_same_size_is_a_copy() -> None:
    a = np.arange(64 * 48, dtype=np.uint8).reshape(48, 64)
    out = to_lores(a, (64, 48))
    out[0, 0] = 99
    assert a[0, 0] == 0
