"""A YOLOX COCO detector (YOLOX-Nano by default) through OpenCV's dnn module.

The model is the one YOLOX publishes as ONNX: input `images` 1x3xSxS float32, BGR 0..255,
letterboxed (aspect kept, padded with 114) to the top left; output 1xNx85 per anchor point
of the stride-8, -16 and -32 grids: x and y offsets in grid cells, log width and height in
strides, objectness and 80 class probabilities (sigmoid already applied). Only class 0,
person, is kept.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from motion.people.base import PeopleError, Person, fractions

STRIDES = (8, 16, 32)
PAD = 114
PERSON = 0
NMS_IOU = 0.45


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """The model's input blob (1x3xSxS float32, BGR) and the scale applied to `image`."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    nh, nw = max(1, int(h * r)), max(1, int(w * r))
    canvas = np.full((size, size, 3), PAD, np.uint8)
    canvas[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return canvas.transpose(2, 0, 1)[None].astype(np.float32), r


def grids(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Each anchor point's grid cell (x, y) and stride, in the model's output order."""
    cells, strides = [], []
    for s in STRIDES:
        n = size // s
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        cells.append(np.stack((xs, ys), -1).reshape(-1, 2))
        strides.append(np.full((n * n, 1), s))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)


def decode(out: np.ndarray, size: int, scale: float, width: int, height: int,
           min_score: float) -> list[Person]:
    """People in a width x height picture from the raw output (N x 85)."""
    cells, strides = grids(size)
    if out.ndim != 2 or out.shape[0] != len(cells) or out.shape[1] < 6:
        raise PeopleError(f"the model's output is {out.shape}, expected ({len(cells)}, 85) "
                          f"for a {size}x{size} YOLOX input")
    classes = out[:, 5:]
    score = out[:, 4] * classes[:, PERSON]
    keep = (score >= min_score) & (classes.argmax(1) == PERSON)
    if not keep.any():
        return []
    xy = (out[keep, :2] + cells[keep]) * strides[keep]
    wh = np.exp(np.minimum(out[keep, 2:4], 20.0)) * strides[keep]
    boxes = np.concatenate((xy - wh / 2, wh), 1) / scale  # x, y, w, h in picture pixels
    scores = score[keep]
    chosen = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), min_score, NMS_IOU)
    return [Person(fractions(boxes[i], width, height), float(scores[i]), "yolox")
            for i in np.ravel(chosen)]


class YoloxDetector:
    name = "yolox"

    def __init__(self, path: Path, min_score: float = 0.5, size: int = 416) -> None:
        if not path.is_file():
            raise PeopleError(f"no people model at {path}: run `doorcam people "
                              "install-model` (or set people.detector = \"opencv\")")
        try:
            self._net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
            raise PeopleError(f"{path}: not an ONNX model OpenCV can load ({first})") from None
        self._out = self._net.getUnconnectedOutLayersNames()
        self.size = size
        self.min_score = min_score
        # One run on a blank picture: a model of another shape fails here, at start-up.
        try:
            self._net.setInput(np.zeros((1, 3, size, size), np.float32))
            out = self._net.forward(self._out)[0]
        except cv2.error:
            out = np.zeros(0)
        if out.ndim != 3 or out.shape[1] != len(grids(size)[0]) or out.shape[2] < 6:
            raise PeopleError(f"{path}: not a YOLOX detector with a {size}x{size} input "
                              f"(input 1x3x{size}x{size}, output 1x{len(grids(size)[0])}x85)")

    def detect(self, image: np.ndarray) -> list[Person]:
        blob, scale = letterbox(image, self.size)
        self._net.setInput(blob)
        try:
            out = self._net.forward(self._out)[0]
        except cv2.error as exc:
            raise PeopleError(f"the people model failed: {str(exc).strip()[-200:]}") from None
        h, w = image.shape[:2]
        return decode(out[0], self.size, scale, w, h, self.min_score)
