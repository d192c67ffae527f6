"""Real footage as the device's frames (lores gray plus the full picture) for the people
stage, and helpers that run the local loop's parts over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from capture.frame import Frame
from capture.sources import open_source
from config import CaptureConfig

WAVINGTREES_PERSON = 242  # the first frame in which the person shows


class Picture:
    """A MainImage over an array already in memory."""

    def __init__(self, bgr: np.ndarray) -> None:
        self._bgr = bgr

    def to_bgr(self) -> np.ndarray:
        return self._bgr


def frames_of(spec: str | Path) -> Iterator[Frame]:
    """Every frame of a file, folder or synthetic scene, as the device's sources give them."""
    src = open_source(str(spec), CaptureConfig(), pace=None)
    try:
        yield from src.frames()
    finally:
        src.close()


def frame(seq: int, gray: np.ndarray, fps: float = 25.0) -> Frame:
    """A frame holding `gray` as both pictures (the lores image and the main one)."""
    return Frame(seq, seq / fps, seq / fps, 1.8e9 + seq / fps, gray,
                 Picture(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)))
