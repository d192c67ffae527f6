"""What every people detector gives and takes: a picture in, person boxes out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from motion.events import Box


class PeopleError(Exception):
    """A detector cannot be built or run (missing model, broken file); one line for the user."""


@dataclass(frozen=True, slots=True)
class Person:
    box: Box  # x, y, w, h as 0..1 fractions of the picture the detector was given
    score: float  # the detector's own confidence scale; compare only within one `by`
    by: str  # which detector saw it: "hog", "face", "upperbody", "yolox"


class PeopleDetector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> list[Person]:
        """People in `image` (HxW gray or HxWx3 BGR uint8), as fractions of its size."""
        ...


def gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def resized(image: np.ndarray, height: int) -> np.ndarray:
    """`image` scaled to `height` rows (up or down), keeping its aspect ratio."""
    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(1, round(w * height / h))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


def fractions(rect: Sequence[float], width: int, height: int) -> Box:
    """A pixel box (x, y, w, h) as fractions of a width x height picture, clipped to it."""
    x, y, w, h = (float(v) for v in rect)
    x0, y0 = max(0.0, x / width), max(0.0, y / height)
    x1, y1 = min(1.0, (x + w) / width), min(1.0, (y + h) / height)
    return (x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))
