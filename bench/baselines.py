"""Simple detectors to compare against: what many projects (and picamera2's example) do."""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from motion.events import MotionError

PICAMERA_SIZE = (320, 240)
PICAMERA_MSE = 7.0  # picamera2's example threshold on the mean squared difference


class FrameDetector(Protocol):
    """Frame-level motion, no persistence and no events."""

    def process(self, lores: np.ndarray, t: float) -> bool: ...


def _check(lores: np.ndarray) -> None:
    if not isinstance(lores, np.ndarray) or lores.dtype != np.uint8 or lores.ndim != 2:
        raise MotionError("lores frame must be a 2-D uint8 grayscale numpy array")


class FrameDiffBaseline:
    """Consecutive-frame absdiff > threshold on more than `min_pixels` pixels."""

    def __init__(self, threshold: int = 25, min_fraction: float = 0.002) -> None:
        self.threshold = threshold
        self.min_fraction = min_fraction
        self._prev: np.ndarray | None = None
        self._diff: np.ndarray | None = None

    def process(self, lores: np.ndarray, t: float) -> bool:
        _check(lores)
        if self._prev is None or self._prev.shape != lores.shape:
            self._prev = lores.copy()
            self._diff = np.empty_like(lores)
            return False
        assert self._diff is not None
        cv2.absdiff(lores, self._prev, dst=self._diff)
        cv2.threshold(self._diff, self.threshold, 255, cv2.THRESH_BINARY, dst=self._diff)
        np.copyto(self._prev, lores)
        return cv2.countNonZero(self._diff) > self.min_fraction * lores.size


class PicameraMSEBaseline:
    """picamera2's example criterion, MSE of consecutive 320x240 frames > 7, without wrap.

    The example squares uint8 differences, which wrap modulo 256; here the sum of
    squared differences is computed by cv2.norm in double precision.
    """

    def __init__(self, threshold: float = PICAMERA_MSE) -> None:
        self.threshold = threshold
        self._prev = np.empty(PICAMERA_SIZE[::-1], np.uint8)
        self._cur = np.empty(PICAMERA_SIZE[::-1], np.uint8)
        self._started = False

    def process(self, lores: np.ndarray, t: float) -> bool:
        _check(lores)
        if lores.shape == self._cur.shape:
            np.copyto(self._cur, lores)
        else:
            cv2.resize(lores, PICAMERA_SIZE, dst=self._cur, interpolation=cv2.INTER_AREA)
        started, self._started = self._started, True
        self._prev, self._cur = self._cur, self._prev
        if not started:
            return False
        mse = cv2.norm(self._prev, self._cur, cv2.NORM_L2SQR) / self._cur.size
        return bool(mse > self.threshold)


def picamera_example_mse(cur: np.ndarray, prev: np.ndarray) -> float:
    """The example's own arithmetic (uint8, wraps): kept to show the bug in the benchmark."""
    return float(np.square(np.subtract(cur, prev)).mean())
