"""Pieces every source shares: the lores image, clocks and pacing, looping."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import cv2
import numpy as np

from capture.frame import Frame, MainImage, Packet


class RawFrame(Protocol):
    """What a recorded source's reader yields before it becomes a Frame."""

    @property
    def pts(self) -> float: ...
    @property
    def gray(self) -> np.ndarray: ...
    @property
    def main(self) -> MainImage: ...
    @property
    def packets(self) -> list[Packet]: ...


class ArrayImage:
    """A main image that already is a BGR array."""

    __slots__ = ("bgr",)

    def __init__(self, bgr: np.ndarray) -> None:
        self.bgr = bgr

    def to_bgr(self) -> np.ndarray:
        return self.bgr


VIDEO_TO_FULL_RANGE = np.clip((np.arange(256) - 16) * 255.0 / 219.0 + 0.5, 0, 255).astype(
    np.uint8)


def lores_size(width: int, height: int, lores_width: int) -> tuple[int, int]:
    """(width, height) of the analysis image: the given width, even height by aspect ratio."""
    h = max(2, round(lores_width * height / width / 2) * 2)
    return lores_width, h


def to_lores(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A fresh, C-contiguous lores copy of a (possibly strided) grayscale image."""
    h, w = gray.shape[:2]
    if (w, h) == size:
        return np.array(gray, dtype=np.uint8, order="C")
    # OpenCV's INTER_AREA has a fast path for exact halving (~10x faster than one 4x step);
    # 2x2 box averages compose into the 2^k box, so only rounding differs.
    fx, fy = w // size[0], h // size[1]
    if fx == fy and fx & (fx - 1) == 0 and (w, h) == (size[0] * fx, size[1] * fy):
        while w > size[0]:
            w, h = w // 2, h // 2
            gray = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
        return gray
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


class Clock:
    """Stamps frames with monotonic and wall time, sleeping first when paced.

    Unpaced, mono = start + pts; paced at N, a frame is delivered no earlier than
    first-frame time + (pts - first pts) / N and mono is when it was delivered. Wall time is
    when the frame really arrived, at any speed: a recording replayed faster than real time
    would otherwise date its clips into the future (clip durations come from media time).
    """

    def __init__(self, pace: float | None) -> None:
        if pace is not None and pace <= 0:
            raise ValueError("pace must be positive or None")
        self.pace = pace
        self._mono0 = time.monotonic()
        self._wall_minus_mono = time.time() - self._mono0
        self._origin: float | None = None

    def stamp(self, pts: float) -> tuple[float, float]:
        """(mono, wall) for a frame at media time pts."""
        if self.pace is None:
            return self._mono0 + pts, time.monotonic() + self._wall_minus_mono
        if self._origin is None:
            self._origin = time.monotonic() - pts / self.pace
        delay = self._origin + pts / self.pace - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        mono = time.monotonic()
        return mono, mono + self._wall_minus_mono


def run_passes(
    open_pass: Callable[[float], Iterable[RawFrame]],
    *,
    loop: bool,
    frame_time: float,
    clock: Clock,
    size: tuple[int, int],
) -> Iterator[Frame]:
    """Frames from one pass, or from pass after pass with continuing seq and pts when looping.

    `open_pass(offset)` yields raw frames whose pts already include offset.
    """
    seq, offset = 0, 0.0
    while True:
        last: float | None = None
        for raw in open_pass(offset):
            mono, wall = clock.stamp(raw.pts)
            lores = to_lores(raw.gray, size)
            if getattr(raw, "limited", False):
                # Video-range luma would shrink every difference by 219/255: thresholds
                # must mean the same for a camera, a file and an image sequence.
                cv2.LUT(lores, VIDEO_TO_FULL_RANGE, dst=lores)
            yield Frame(seq, raw.pts, mono, wall, lores, raw.main, raw.packets)
            seq += 1
            last = raw.pts
        if not loop or last is None:
            return
        offset = last + frame_time
