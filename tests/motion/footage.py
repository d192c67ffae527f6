"""Read the shared real footage as lores grayscale frames, the way the tests need it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

LORES_WIDTH = 320


def to_lores(image: np.ndarray, width: int = LORES_WIDTH) -> np.ndarray:
    """BGR or gray image -> uint8 gray, `width` wide (aspect kept), INTER_AREA."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = gray.shape
    if w == width:
        return np.ascontiguousarray(gray)
    height = max(1, round(h * width / w))
    return cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)


def video_frames(path: Path, width: int = LORES_WIDTH) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(path)
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield to_lores(frame, width)
    finally:
        cap.release()


def video_fps(path: Path) -> float:
    cap = cv2.VideoCapture(str(path))
    try:
        return float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    finally:
        cap.release()


def image_frames(paths: list[Path], width: int | None = None) -> Iterator[np.ndarray]:
    """Image files in order; `width` None keeps the native size."""
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise FileNotFoundError(p)
        yield img if width is None else to_lores(img, width)


def wavingtrees(data: Path) -> list[np.ndarray]:
    return list(image_frames(sorted((data / "wavingtrees" / "input").glob("b*.png"))))


def highway_paths(data: Path) -> list[Path]:
    return sorted((data / "highway" / "input").glob("in*.jpg"))


# Frame-level labels: frames (0-based) that the real footage's ground truth calls motion.
TRAFFIC_EVENTS = ((10, 148), (359, 490), (543, 575))
TRAFFIC_ZONE_PX = (631, 532, 210, 127)  # x, y, w, h in 1280x720 source pixels
WAVINGTREES_PERSON = 242
ISSUE53_MASK = [  # on-screen clock (top left) and camera name (bottom right)
    [[0.0, 0.03], [0.31, 0.03], [0.31, 0.095], [0.0, 0.095]],
    [[0.70, 0.87], [0.86, 0.87], [0.86, 0.935], [0.70, 0.935]],
]


def traffic_zone() -> list[list[list[float]]]:
    x, y, w, h = TRAFFIC_ZONE_PX
    x0, y0, x1, y1 = x / 1280, y / 720, (x + w) / 1280, (y + h) / 720
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]]
