"""OpenCV's HOG people detector (Dalal-Triggs): whole, upright people seen from afar."""

from __future__ import annotations

import cv2
import numpy as np

from motion.people.base import PeopleError, Person, fractions, gray, resized

WINDOW_H = 128  # the default detector's window is 64x128 pixels
MIN_HEIGHT = 160  # a smaller picture is scaled up so a person filling it still fits a window
# A larger one is scaled down: the region is the moving area padded by a quarter on each
# side, so a person in it stands over half its height and still spans two windows here.
MAX_HEIGHT = 256
MIN_WEIGHT = 0.5  # SVM margins below this are mostly textures (trees, railings)


class HogDetector:
    name = "hog"

    def __init__(self, min_weight: float = MIN_WEIGHT) -> None:
        if not hasattr(cv2, "HOGDescriptor"):
            raise PeopleError("this OpenCV has no HOG people detector (OpenCV 5 wheels "
                              "dropped it): install opencv-python-headless 4.x or Debian's "
                              "python3-opencv")
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(),
                                                np.float32))
        self.min_weight = min_weight

    def detect(self, image: np.ndarray) -> list[Person]:
        g = gray(image)
        h = g.shape[0]
        target = min(max(h, MIN_HEIGHT), MAX_HEIGHT)
        g = resized(g, target)
        if g.shape[1] < 64:
            return []
        rects, weights = self._hog.detectMultiScale(g, winStride=(8, 8), padding=(8, 8),
                                                    scale=1.1)
        H, W = g.shape[:2]
        return [Person(fractions(r, W, H), float(wt), self.name)
                for r, wt in zip(rects, np.ravel(weights), strict=True)
                if wt >= self.min_weight]
