"""Parts of a picture in BGR without converting the whole of it.

A 1080p picture in BGR is 6 MB, twice its YUV 4:2:0 size. Those who want a small snapshot
or a region of it get that directly: a decoded picture's planes are scaled and converted in
one step, or only the region's planes are converted. Any other picture (masked, stamped,
rendered, already BGR) is converted whole as before, since the wrapper may paint on it.
"""

from __future__ import annotations

import av
import cv2
import numpy as np

from capture.frame import MainImage
from capture.media.decode import AvMainImage

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, end exclusive
_PLANAR_420 = frozenset({"yuv420p", "yuvj420p"})


def bgr_scaled(main: MainImage, size: tuple[int, int]) -> np.ndarray:
    """The picture at `size` (width, height): area-averaged, as cv2's INTER_AREA does."""
    if isinstance(main, AvMainImage):
        with main.lock:
            return main.av_frame.reformat(width=size[0], height=size[1], format="bgr24",
                                          interpolation="AREA").to_ndarray()
    bgr = main.to_bgr()
    if (bgr.shape[1], bgr.shape[0]) == size:
        return bgr
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


def bgr_size(main: MainImage) -> tuple[int, int]:
    """(width, height) of the picture, without converting it when that can be avoided."""
    if isinstance(main, AvMainImage):
        return main.av_frame.width, main.av_frame.height
    h, w = main.to_bgr().shape[:2]
    return w, h


def bgr_region(main: MainImage, box: Box) -> np.ndarray:
    """`main.to_bgr()[y0:y1, x0:x1]` pixel for pixel, as an array of its own; for a decoded
    4:2:0 picture only the region (widened to whole chroma samples) is converted."""
    if not isinstance(main, AvMainImage) or main.av_frame.format.name not in _PLANAR_420:
        x0, y0, x1, y1 = box
        return np.ascontiguousarray(main.to_bgr()[y0:y1, x0:x1])
    with main.lock:
        return _region_420(main.av_frame, box)


def _region_420(vf: av.VideoFrame, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    # A chroma sample covers 2x2 pixels: start on an even pixel so that every sample the
    # region touches comes along, and the conversion sees the same neighbours.
    ex0, ey0 = x0 & ~1, y0 & ~1
    ex1, ey1 = min(vf.width, x1 + (x1 & 1)), min(vf.height, y1 + (y1 & 1))
    sub = av.VideoFrame(ex1 - ex0, ey1 - ey0, vf.format.name)
    sub.color_range = vf.color_range
    sub.colorspace = vf.colorspace
    for i, (src, dst) in enumerate(zip(vf.planes, sub.planes, strict=True)):
        s = 0 if i == 0 else 1  # chroma planes are half size both ways
        rows = ((ey1 + s) >> s) - (ey0 >> s)
        cols = ((ex1 + s) >> s) - (ex0 >> s)
        whole = np.frombuffer(memoryview(src), np.uint8).reshape(-1, src.line_size)
        part = np.frombuffer(memoryview(dst), np.uint8).reshape(-1, dst.line_size)
        part[:rows, :cols] = whole[ey0 >> s:(ey0 >> s) + rows, ex0 >> s:(ex0 >> s) + cols]
    bgr = sub.to_ndarray(format="bgr24")
    return np.ascontiguousarray(bgr[y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0])
