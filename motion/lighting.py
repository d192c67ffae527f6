"""The lighting guard: explain a large change as a smooth gain field and re-light the background.

Auto-exposure, IR switching and cloud shadows multiply the scene by a gain that varies
slowly across the frame (gamma-encoded pixels stay multiplicative). A person does not: the
ratio frame/background inside a textured object varies wildly from pixel to pixel. So the
gain is estimated per coarse block as the median ratio, blocks whose pixels disagree with
their own median are treated as covered by an object and take the gain of their consistent
neighbours, and the smoothed field re-lights the background. Whatever still differs after
that is an object.
"""

from __future__ import annotations

import cv2
import numpy as np

BLOCK = 20  # analysis pixels per gain block (side)
AGREE = 0.12  # a pixel agrees with its block when its ratio is within 12 % of the median
CONSISTENT = 0.6  # a block is lit uniformly when this fraction of its pixels agree
OFFSET = 4.0  # keeps ratios of near-black pixels from exploding


class Relighter:
    """Estimates a per-block gain field between frame and background and applies it."""

    def __init__(self, width: int, height: int) -> None:
        self.gx = max(2, round(width / BLOCK))
        self.gy = max(2, round(height / BLOCK))
        # Sample every other pixel of a centred grid of whole blocks: plenty for a median.
        self._bw = max(1, width // self.gx // 2)
        self._bh = max(1, height // self.gy // 2)
        sw, sh = self._bw * self.gx, self._bh * self.gy
        self._x0 = (width - 2 * sw) // 2
        self._y0 = (height - 2 * sh) // 2
        self._num = np.empty((sh, sw), np.float32)
        self._den = np.empty((sh, sw), np.float32)
        self._field = np.empty((height, width), np.float32)
        self.gains = np.ones((self.gy, self.gx), np.float32)
        self.consistent = np.ones((self.gy, self.gx), bool)

    def estimate(self, frame: np.ndarray, background: np.ndarray) -> np.ndarray:
        """Per-block gains (gy x gx) that map the background onto the frame."""
        sl = np.s_[self._y0 : self._y0 + 2 * self._num.shape[0] : 2,
                   self._x0 : self._x0 + 2 * self._num.shape[1] : 2]
        np.add(frame[sl], OFFSET, out=self._num, casting="unsafe")
        np.add(background[sl], OFFSET, out=self._den)
        np.divide(self._num, self._den, out=self._num)
        blocks = (
            self._num.reshape(self.gy, self._bh, self.gx, self._bw)
            .transpose(0, 2, 1, 3)
            .reshape(self.gy, self.gx, -1)
        )
        med = np.median(blocks, axis=-1).astype(np.float32)
        agree = np.abs(blocks - med[..., None]) <= AGREE * med[..., None]
        self.consistent = agree.mean(axis=-1) >= CONSISTENT
        self.gains = _fill_inconsistent(med, self.consistent)
        return self.gains

    def apply(self, background: np.ndarray) -> None:
        """Multiply the float32 background in place by the smoothed gain field."""
        h, w = background.shape
        cv2.resize(self.gains, (w, h), dst=self._field, interpolation=cv2.INTER_LINEAR)
        cv2.multiply(background, self._field, dst=background)

    @property
    def uniform_fraction(self) -> float:
        """Fraction of blocks whose change the gain model explains."""
        return float(self.consistent.mean())


def _fill_inconsistent(gains: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Replace gains of object-covered blocks by the mean of consistent neighbours."""
    if ok.all():
        return gains
    if not ok.any():
        return np.ones_like(gains)
    out = gains.copy()
    todo = ~ok
    known = ok.copy()
    # Grow inward from consistent blocks, ring by ring, so a large object takes the
    # lighting of what surrounds it rather than its own ratio.
    while todo.any():
        filled = np.zeros_like(todo)
        for y, x in zip(*np.nonzero(todo), strict=True):
            y0, y1, x0, x1 = max(0, y - 1), y + 2, max(0, x - 1), x + 2
            nb = known[y0:y1, x0:x1]
            if nb.any():
                out[y, x] = out[y0:y1, x0:x1][nb].mean()
                filled[y, x] = True
        if not filled.any():
            break
        known |= filled
        todo &= ~filled
    return out
