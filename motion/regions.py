"""Where to look (mask and zone polygons) and what was seen (blobs to boxes)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from motion.events import Box, MotionError

Polygon = Sequence[Sequence[float]]
STREAK_WIDTH = 8.0  # analysis pixels: a blob this thin on average ...
STREAK_RATIO = 5.0  # ... and this many times longer than thick is shaped like a streak,
SPARSE = 0.25  # as is one filling less than this share of its box (streaks side by side)
STREAK_NEW = 0.25  # a streak with less than this share of its pixels changed a frame ago


def _points(polys: Sequence[Polygon], width: int, height: int, what: str) -> list[np.ndarray]:
    out = []
    for i, poly in enumerate(polys):
        try:
            pts = np.asarray(poly, dtype=np.float64)
        except (TypeError, ValueError):
            raise MotionError(f"{what} polygon {i + 1} is not a list of [x, y] points") from None
        if pts.ndim != 2 or pts.shape[0] < 3 or pts.shape[1] != 2:
            raise MotionError(f"{what} polygon {i + 1} needs at least 3 [x, y] points")
        if not np.all(np.isfinite(pts)) or pts.min() < 0.0 or pts.max() > 1.0:
            raise MotionError(f"{what} polygon {i + 1} has points outside 0..1 frame fractions")
        # Fractions map to the pixel edges, so [0, 0]..[1, 1] covers every pixel.
        px = np.rint(pts * (width - 1, height - 1)).astype(np.int32)
        out.append(px.reshape(-1, 1, 2))
    return out


def analysis_mask(
    mask: Sequence[Polygon], zones: Sequence[Polygon], width: int, height: int
) -> np.ndarray:
    """The analysed area as a uint8 0/255 image: inside any zone (or all), outside any mask."""
    area = np.zeros((height, width), np.uint8)
    zone_pts = _points(zones, width, height, "zone")
    if zone_pts:
        cv2.fillPoly(area, zone_pts, 255)
    else:
        area.fill(255)
    mask_pts = _points(mask, width, height, "mask")
    if mask_pts:
        cv2.fillPoly(area, mask_pts, 0)
    if cv2.countNonZero(area) == 0:
        raise MotionError("the mask and zones leave nothing of the frame to analyse")
    return area


def find_boxes(
    joined: np.ndarray, fg: np.ndarray, min_pixels: float, before: np.ndarray | None = None
) -> tuple[tuple[Box, ...], int, list[np.ndarray]]:
    """Boxes of the blobs in `joined` holding >= min_pixels changed pixels of `fg`.

    With `before` (the previous frame's changed pixels), a blob shaped like a thin streak
    that was not there a frame ago is left out: a raindrop (or an insect) near the lens,
    lit for one exposure, crosses the picture in a frame or two and leaves a new streak
    in each, while an object overlaps itself from one frame to the next. A streak that
    crosses an object joins its blob, which stays when a blob's worth of its pixels were
    changed a frame ago too.

    Returns the boxes (0..1 fractions), the changed-pixel count inside them and the
    contours of the streaks left out.
    """
    height, width = joined.shape
    # The link-runs tracer is twice as fast as findContours; it also returns the holes
    # (negative oriented area), which RETR_EXTERNAL would not, so those are skipped.
    contours, _ = cv2.findContoursLinkRuns(joined)
    boxes: list[Box] = []
    moving = 0
    streaks: list[np.ndarray] = []
    for c in reversed(contours):  # findContours' order, which breaks ties in the sort below
        x, y, w, h = cv2.boundingRect(c)
        if w * h < min_pixels or cv2.contourArea(c, True) < 0:
            continue
        n = cv2.countNonZero(fg[y : y + h, x : x + w])
        if n < min_pixels:
            continue
        if before is not None and _streak(n, w, h):
            kept = cv2.countNonZero(
                cv2.bitwise_and(fg[y : y + h, x : x + w], before[y : y + h, x : x + w]))
            if kept < STREAK_NEW * n and kept < min_pixels:
                streaks.append(c)
                continue
        moving += n
        boxes.append((x / width, y / height, w / width, h / height))
    boxes.sort(key=lambda b: -b[2] * b[3])
    return tuple(boxes), moving, streaks


def _streak(n: int, w: int, h: int) -> bool:
    """Whether n changed pixels in a w x h box are a thin line along its diagonal, or
    scattered thinly over it (several streaks that the dilation joined)."""
    length = math.hypot(w, h)
    return n < SPARSE * w * h or (n <= STREAK_WIDTH * length
                                  and length * length >= STREAK_RATIO * n)
