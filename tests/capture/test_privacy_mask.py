"""capture.privacy: the mask painted on every picture layout the device handles."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from capture.frame import Frame, Packet, StreamInfo
from capture.privacy import BLACK_Y, NEUTRAL_C, MaskedSource, PrivacyMask
from motion.regions import analysis_mask
from tests.recording.helpers import ArrayImage

RNG = np.random.default_rng(11)
# Random polygons, sharp corners and overlaps included, and one with a hole in the union.
POLYGONS = [[RNG.random((int(RNG.integers(3, 7)), 2)).tolist()
             for _ in range(int(RNG.integers(1, 4)))] for _ in range(40)]
RING = [[[0.1, 0.1], [0.9, 0.1], [0.9, 0.3], [0.1, 0.3]], [[0.1, 0.7], [0.9, 0.7], [0.9, 0.9],
        [0.1, 0.9]], [[0.1, 0.1], [0.3, 0.1], [0.3, 0.9], [0.1, 0.9]],
        [[0.7, 0.1], [0.9, 0.1], [0.9, 0.9], [0.7, 0.9]]]
SIZES = [(640, 480), (320, 240), (1920, 1080), (66, 50)]


@pytest.mark.parametrize("size", SIZES)
def test_painted_area_is_the_area_the_detector_ignores(size: tuple[int, int]) -> None:
    w, h = size
    for polys in [*POLYGONS[:10], RING]:
        ignored = analysis_mask(polys, [], w, h) == 0
        assert (PrivacyMask(polys).covered(w, h) == ignored).all()


def test_bgr_and_gray_are_black_inside_and_untouched_outside() -> None:
    for polys in POLYGONS[:10]:
        mask = PrivacyMask(polys)
        bgr = np.full((480, 640, 3), 200, np.uint8)
        gray = np.full((240, 320), 200, np.uint8)
        mask.paint(bgr)
        mask.paint(gray)
        for img in (bgr, gray):
            covered = mask.covered(img.shape[1], img.shape[0])
            assert (img[covered] == 0).all() and (img[~covered] == 200).all()


def _chroma_needed(mask: PrivacyMask, w: int, h: int) -> np.ndarray:
    """Chroma samples that share a 2x2 block with any masked luma pixel."""
    return mask.covered(w, h).reshape(h // 2, 2, w // 2, 2).any(axis=(1, 3))


@pytest.mark.parametrize(("fmt", "size"), list(itertools.product(
    ("YUV420", "YVU420", "NV12", "NV21"), SIZES)))
def test_yuv420_as_picamera2_maps_it(fmt: str, size: tuple[int, int]) -> None:
    """Luma black, chroma neutral wherever it touches the mask; padding and the rest kept."""
    w, h = size
    planar = fmt in ("YUV420", "YVU420")
    stride = w + 64  # rows padded as the ISP pads them
    for polys in [*(POLYGONS if w * h < 10**6 else POLYGONS[:4]), RING]:
        mask = PrivacyMask(polys)
        buf = np.full((h * 3 // 2, stride), 200, np.uint8)
        # picamera2's _make_array_shared: planar buffers whole, NV12/NV21 cut to the width.
        mask.paint_yuv420(buf if planar else buf[:, :w], fmt, (w, h), stride)
        covered, need = mask.covered(w, h), _chroma_needed(mask, w, h)
        luma = buf[:h, :w]
        assert (luma[covered] == BLACK_Y).all() and (luma[~covered] == 200).all()
        assert (buf[:h, w:] == 200).all()
        if planar:
            flat, cs = buf.reshape(-1), stride // 2
            planes = [flat[h * stride + k * (h // 2) * cs:][:(h // 2) * cs].reshape(h // 2, cs)
                      for k in range(2)]
            for plane in planes:
                assert (plane[:, w // 2:] == 200).all()
            chroma = [p[:, :w // 2] for p in planes]
        else:
            uv = buf[h:, :w].reshape(h // 2, w // 2, 2)
            chroma = [uv[..., 0], uv[..., 1]]
            assert (buf[h:, w:] == 200).all()
        for c in chroma:
            assert (c[need] == NEUTRAL_C).all() and (c[~need] == 200).all()


def test_nothing_to_paint_without_polygons() -> None:
    mask = PrivacyMask([])
    img = np.full((48, 64, 3), 200, np.uint8)
    mask.paint(img)
    assert not mask and (img == 200).all()


class _Source:
    error, skipped = "cut short", 2

    def __init__(self) -> None:
        self.closed = False

    @property
    def info(self) -> StreamInfo:
        return StreamInfo(64, 48, 25.0, "h264", extradata=b"\x01avcc", name="cam")

    def frames(self):  # type: ignore[no-untyped-def]
        lores = np.full((24, 32), 200, np.uint8)
        lores.flags.writeable = False  # as a view of a decoder's buffer can be
        bgr = np.full((48, 64, 3), 200, np.uint8)
        yield Frame(0, 0.0, 0.0, 0.0, lores, ArrayImage(bgr), [Packet(b"x", 0.0, 0.04, True)])

    def close(self) -> None:
        self.closed = True


def test_masked_source_masks_both_pictures_and_drops_packets_that_show_the_area() -> None:
    polys = [[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]]
    inner = _Source()
    src = MaskedSource(inner, PrivacyMask(polys))
    # No packets to remux: the recorder's encoder choice re-encodes the masked pictures.
    assert src.info.codec == "rawvideo" and src.info.extradata == b""
    assert (src.info.width, src.info.height, src.info.name) == (64, 48, "cam")
    (f,) = src.frames()
    assert f.packets == []
    assert (f.lores[:, :15] == 0).all() and (f.lores[:, 17:] == 200).all()
    bgr = f.main.to_bgr()
    assert (bgr[:, :31] == 0).all() and (bgr[:, 33:] == 200).all()
    assert (src.error, src.skipped) == ("cut short", 2)  # damage is still reported
    src.close()
    assert inner.closed
