"""OpenCV's Haar cascades for close range: at a door a person fills the picture, faces the
camera and is cut off at the knees, where a whole-body detector sees nobody."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from motion.people.base import PeopleError, Person, fractions, gray, resized

# The cascades ship with the OpenCV 4 wheels (cv2.data) and, on Debian and Raspberry Pi
# OS, with opencv-data (python3-opencv has no cv2.data).
SYSTEM_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades")
FILES = {"face": "haarcascade_frontalface_alt2.xml",
         "upperbody": "haarcascade_upperbody.xml"}
HEIGHT = 200  # pictures are scaled to this many rows: a face at the door is 24+ rows then
SCALE_STEP = 1.15  # between pyramid levels: 1.1 finds no more at the door and costs 1.5x
# (neighbours, smallest object as a fraction of the picture height): faces are confirmed by
# more neighbours, since leaves make face-like patches.
TUNING = {"face": (5, 0.12), "upperbody": (4, 0.3)}


def cascade_dirs() -> list[Path]:
    dirs = []
    data = getattr(cv2, "data", None)
    folder = getattr(data, "haarcascades", None) if data is not None else None
    if folder:
        dirs.append(Path(str(folder)))
    dirs.extend(Path(d) for d in SYSTEM_DIRS)
    return dirs


def find_cascade(kind: str, dirs: list[Path] | None = None) -> Path:
    name = FILES[kind]
    for d in cascade_dirs() if dirs is None else dirs:
        if (d / name).is_file():
            return d / name
    where = ", ".join(str(d) for d in (cascade_dirs() if dirs is None else dirs))
    raise PeopleError(f"no {name} in {where or 'any known folder'}: install "
                      "opencv-python-headless 4.x, or Debian's opencv-data")


class CascadeDetector:
    def __init__(self, kind: str, path: Path | None = None) -> None:
        if not hasattr(cv2, "CascadeClassifier"):
            raise PeopleError("this OpenCV has no cascade classifier (OpenCV 5 wheels "
                              "dropped it): install opencv-python-headless 4.x or Debian's "
                              "python3-opencv")
        self.name = kind
        file = path or find_cascade(kind)
        self._cascade = cv2.CascadeClassifier(str(file))
        if self._cascade.empty():
            raise PeopleError(f"{file}: not a cascade OpenCV can load")
        self._neighbours, self._min = TUNING[kind]

    def detect(self, image: np.ndarray) -> list[Person]:
        g = cv2.equalizeHist(resized(gray(image), HEIGHT))
        H, W = g.shape[:2]
        side = max(24, round(self._min * H))
        # detectMultiScale2's neighbour counts are the score: asking for reject levels
        # (detectMultiScale3) turns off the cascade's early exits and costs ten times more.
        rects, neighbours = self._cascade.detectMultiScale2(
            g, scaleFactor=SCALE_STEP, minNeighbors=self._neighbours, minSize=(side, side))
        return [Person(fractions(r, W, H), float(n), self.name)
                for r, n in zip(rects, np.ravel(neighbours), strict=True)]
