"""Privacy masks: polygons painted black, in place, on every picture before anyone sees it.

One `PrivacyMask` serves every resolution (main, lores, thumbnails): the polygons, in 0..1
frame fractions, are turned into pixel points once per picture size and cached. Painting is
`cv2.fillPoly` with those points, which writes only the covered pixels: about 0.3 ms on a
1080p BGR frame and 0.1-0.2 ms on a 1080p YUV420 buffer here, against 30 ms for numpy's
boolean `where=` with the same mask (bench/bench_recording.py measures it).

`MaskedSource` wraps a source that cannot mask by itself (files, streams, synthetic scenes):
its pictures are masked as they leave it, and its own H.264 packets, which show the masked
area, are dropped so the recorder encodes the masked pictures instead. The Pi camera masks
its buffers before its encoder sees them (capture/sources/picam.py) and needs no wrapper.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from capture.frame import Frame, FrameSource, MainImage, StreamInfo

Polygon = Sequence[Sequence[float]]
BLACK_Y = 16  # video-range black: what cameras and libx264's yuv420p use
NEUTRAL_C = 128  # no colour
Size = tuple[int, int]  # (width, height)


class PrivacyMask:
    """Polygons painted black on BGR, grey and YUV 4:2:0 pictures of any size."""

    def __init__(self, polygons: Sequence[Polygon]) -> None:
        self.polygons = tuple(tuple((float(x), float(y)) for x, y in poly)
                              for poly in polygons)
        self._points: dict[Size, list[np.ndarray]] = {}
        self._covered: dict[Size, np.ndarray] = {}
        self._chroma: dict[Size, tuple[Sequence[np.ndarray], np.ndarray]] = {}

    def __bool__(self) -> bool:
        return bool(self.polygons)

    def points(self, width: int, height: int) -> list[np.ndarray]:
        """The polygons in pixels of a width x height picture (cached per size)."""
        pts = self._points.get((width, height))
        if pts is None:
            # The same mapping as the motion detector's regions: [0, 0]..[1, 1] covers
            # every pixel, so a mask the detector ignores is the mask that is painted.
            scale = (max(width - 1, 0), max(height - 1, 0))
            pts = [np.rint(np.asarray(p, np.float64) * scale).astype(np.int32).reshape(-1, 1, 2)
                   for p in self.polygons]
            self._points[(width, height)] = pts
        return pts

    def prepare(self, width: int, height: int) -> None:
        """Compute now what painting a width x height picture (any layout) needs."""
        self.points(width, height)
        self._chroma_outline(width, height)

    def covered(self, width: int, height: int) -> np.ndarray:
        """Boolean HxW image of the masked pixels (cached per size): what `paint` blacks."""
        mask = self._covered.get((width, height))
        if mask is None:
            img = np.zeros((height, width), np.uint8)
            self.paint(img, value=255)
            mask = img.astype(bool)
            mask.flags.writeable = False
            self._covered[(width, height)] = mask
        return mask

    def paint(self, image: np.ndarray, value: int = 0) -> None:
        """Paint the masked area of a grey (HxW) or colour (HxWxC) picture, in place."""
        if not self.polygons:
            return
        h, w = image.shape[:2]
        colour = (value,) * (image.shape[2] if image.ndim == 3 else 1)
        cv2.fillPoly(image, self.points(w, h), colour)

    def paint_yuv420(self, image: np.ndarray, fmt: str, size: Size, stride: int) -> None:
        """Paint black into a YUV 4:2:0 buffer laid out as picamera2 maps it, in place.

        `image` is picamera2's array for the stream: for planar YUV420/YVU420 the whole
        buffer as (height * 3 / 2, stride) rows (Y, then U and V planes of stride / 2 bytes
        a row); for NV12/NV21 the same rows cut to `width` (Y, then interleaved UV).
        Chroma is neutral on every chroma sample that touches a masked luma pixel.
        """
        if not self.polygons:
            return
        w, h = size
        cw, ch = w // 2, h // 2
        self.paint(image[:h, :w], BLACK_Y)
        if fmt in ("NV12", "NV21"):
            self._paint_chroma(image[h:h + ch, :w].reshape(ch, cw, 2), w, h)
            return
        flat = image.reshape(-1)  # planar buffers are mapped whole, so this is a view
        cstride, start = stride // 2, h * stride
        for _ in range(2):
            plane = flat[start:start + ch * cstride].reshape(ch, cstride)
            self._paint_chroma(plane[:, :cw], w, h)
            start += ch * cstride

    def _paint_chroma(self, plane: np.ndarray, w: int, h: int) -> None:
        contours, hierarchy = self._chroma_outline(w, h)
        colour = (NEUTRAL_C,) * (plane.shape[2] if plane.ndim == 3 else 1)
        cv2.drawContours(plane, contours, -1, colour, cv2.FILLED, hierarchy=hierarchy)

    def _chroma_outline(self, w: int, h: int) -> tuple[Sequence[np.ndarray], np.ndarray]:
        """Outlines of the chroma samples to neutralise for a w x h picture (cached).

        A chroma sample spans 2x2 luma pixels: every sample touching a masked pixel is
        painted, so none at the edge keeps the colour of what is behind the mask. Scaling
        the polygons by half misses some at sharp corners; outlines traced once from the
        exact sample mask and drawn filled reproduce it exactly, holes included.
        """
        outline = self._chroma.get((w, h))
        if outline is None:
            cw, ch = w // 2, h // 2
            luma = self.covered(w, h)[:2 * ch, :2 * cw].reshape(ch, 2, cw, 2)
            near: np.ndarray = np.any(luma, axis=(1, 3)).astype(np.uint8)
            contours, hierarchy = cv2.findContours(near, cv2.RETR_CCOMP,
                                                   cv2.CHAIN_APPROX_SIMPLE)
            outline = self._chroma[(w, h)] = (contours, hierarchy)
        return outline


class _MaskedImage:
    """The wrapped source's full picture, masked when first converted."""

    __slots__ = ("_bgr", "_inner", "_mask")

    def __init__(self, inner: MainImage, mask: PrivacyMask) -> None:
        self._inner, self._mask = inner, mask
        self._bgr: np.ndarray | None = None

    def to_bgr(self) -> np.ndarray:
        if self._bgr is None:
            bgr = self._inner.to_bgr()
            bgr = bgr if bgr.flags.writeable else bgr.copy()
            self._mask.paint(bgr)
            self._bgr = bgr
        return self._bgr


class MaskedSource:
    """A source whose pictures (lores and main) are masked before anyone receives them.

    Its `info` says it delivers no H.264 packets to remux (`codec` "rawvideo"), so the
    recorder encodes the masked pictures; `error` and `skipped` are the wrapped source's.
    """

    def __init__(self, inner: FrameSource, mask: PrivacyMask) -> None:
        self._inner, self._mask = inner, mask
        self._info = dataclasses.replace(inner.info, codec="rawvideo", extradata=b"")

    @property
    def info(self) -> StreamInfo:
        return self._info

    @property
    def inner(self) -> FrameSource:
        return self._inner

    @property
    def error(self) -> str | None:
        return getattr(self._inner, "error", None)

    @property
    def skipped(self) -> int:
        return int(getattr(self._inner, "skipped", 0) or 0)

    def frames(self) -> Iterator[Frame]:
        for frame in self._inner.frames():
            lores = frame.lores if frame.lores.flags.writeable else frame.lores.copy()
            self._mask.paint(lores)
            yield dataclasses.replace(frame, lores=lores, main=_MaskedImage(frame.main,
                                                                             self._mask),
                                      packets=[])

    def close(self) -> None:
        self._inner.close()
