"""The lighting guard: explain a large change as a smooth gain field and re-light the background.

Auto-exposure, IR switching and cloud shadows multiply the scene by a gain that varies
slowly across the frame (gamma-encoded pixels stay multiplicative). A person does not: the
ratio frame/background inside a textured object varies wildly from pixel to pixel. So the
gain is estimated per coarse block as the median ratio, blocks whose pixels disagree with
their own median are treated as covered by an object and take the gain of their consistent
neighbours, and the smoothed field re-lights the background. Whatever still differs after
that is an object.

Headlights sweeping a dark porch light only part of the frame, with a pool whose gain
changes fast across its edge: `PoolExplainer` judges such blobs one by one (see there).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

BLOCK = 20  # analysis pixels per gain block (side)
AGREE = 0.12  # a pixel agrees with its block when its ratio is within 12 % of the median
CONSISTENT = 0.6  # a block is lit uniformly when this fraction of its pixels agree
OFFSET = 4.0  # keeps ratios of near-black pixels from exploding
UNEXPLAINED = 0.25  # a pixel whose re-lit background misses this much of its change
AGREEMENT = 0.8  # texture correlation that lets a darkening blob count as light
LIT_SECONDS = 3.0  # light written into the background may leave for this long
HIDDEN = 0.2  # texture correlation below which a brightening blob hides the background
TEXTURE = 1.5  # background texture (rms gray levels) that light would show through
OBJECT_SHARE = 0.2  # a blob with this share of unexplained pixels is an object, however small


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


class PoolExplainer:
    """Tells a pool of light (headlights sweeping a wall) from an object, one blob at a time.

    Light multiplies what it falls on, so within a lit blob the frame is the background
    times a gain that varies smoothly, even where the pool's edge makes it vary fast across
    the blob (which defeats one correlation over the whole blob). The gain is estimated at
    each pixel as the ratio of local means over a small window and the background re-lit
    with it: after that a pool leaves only noise, while an object, which replaces the
    texture rather than scaling it, leaves its edges and its own pattern. A smooth object
    leaves little of either, but it hides the background's texture, which light shows.
    """

    def __init__(self, width: int, height: int, window: int, min_pixels: float) -> None:
        self._k = (window, window)
        self._pad = window // 2 + 1
        self._min_px = min_pixels
        self._kernel = np.ones((2, 2), np.uint8)
        # Where a scene-wide change was written into the background: there light may leave.
        self._lit = np.zeros((height, width), np.uint8)
        self._lit_level = 0.0  # upper bound of _lit; 0.0 = nothing lit
        # Log of the scene-wide brightening recently written into the whole background.
        self._raised = 0.0

    def mark_all(self) -> None:
        """The whole background was re-lit (a scene-wide change)."""
        self._lit.fill(255)
        self._lit_level = 255.0

    def follow(self, gain: float) -> None:
        """The whole background was just multiplied by the scene-wide gain."""
        self._raised = max(0.0, self._raised + math.log(gain))

    def fade(self, seconds: float) -> None:
        """Forget re-lit places over LIT_SECONDS."""
        if self._raised:
            self._raised *= math.exp(-seconds / LIT_SECONDS)
        if self._lit_level:
            step = min(255.0, max(1.0, 255.0 * seconds / LIT_SECONDS))
            cv2.addWeighted(self._lit, 1.0, self._lit, 0.0, -round(step), dst=self._lit)
            self._lit_level = max(0.0, self._lit_level - round(step))

    def explains(self, frame: np.ndarray, background: np.ndarray, diff: np.ndarray,
                 changed: np.ndarray, thresh: np.ndarray, box: tuple[int, int, int, int]
                 ) -> bool:
        """Whether light explains the changed pixels in box (x, y, w, h); if so they are
        cleared in `changed`. The background is left unlit: a person misjudged as light
        leaves no ghost, and the pool, judged afresh every frame, always brightens it.

        diff is |frame - background| as uint8, thresh the per-pixel threshold.
        """
        x, y, w, h = box
        ih, iw = frame.shape
        p = self._pad
        roi = np.s_[max(0, y - p) : min(ih, y + h + p), max(0, x - p) : min(iw, x + w + p)]
        total = cv2.countNonZero(changed[roi])
        if total < self._min_px:
            return False  # too few pixels to judge: as before, an object
        f, b, mask = frame[roi], background[roi], changed[roi]
        fs = np.asarray(cv2.boxFilter(f, cv2.CV_32F, self._k, borderType=cv2.BORDER_REPLICATE),
                        np.float32)
        bs = np.asarray(cv2.boxFilter(b, -1, self._k, borderType=cv2.BORDER_REPLICATE), np.float32)
        # Light that darkens must be light leaving a place it lit; otherwise a dark, smooth
        # object passes for a shadow unless the background's texture shows through.
        darkens = cv2.mean(fs, mask)[0] < cv2.mean(bs, mask)[0]
        if (darkens and cv2.mean(self._lit[roi], mask)[0] < 128
                and _agreement(f, fs, b, bs, mask)[0] < AGREEMENT
                and not self._overshoot(f, b, mask, thresh[roi], total)):
            return False
        # The gain maps background + OFFSET onto frame + OFFSET, so it re-lights the same.
        rel = fs + OFFSET
        rel /= bs + OFFSET
        rel *= b + np.float32(OFFSET)
        rel -= OFFSET  # the re-lit background
        left = cv2.absdiff(f, cv2.convertScaleAbs(rel))
        # A pixel is left unexplained when the re-lit background misses a good part of its
        # change (an object's edge, its own pattern) and by more than the noise.
        change = cv2.compare(cv2.convertScaleAbs(left, alpha=1.0 / UNEXPLAINED), diff[roi],
                             cv2.CMP_GT)
        cv2.compare(cv2.convertScaleAbs(left, alpha=2.0), thresh[roi], cv2.CMP_GT, dst=left)
        cv2.bitwise_and(left, change, dst=left)
        cv2.bitwise_and(left, mask, dst=left)
        n = cv2.countNonZero(left)
        if n > OBJECT_SHARE * total:
            return False
        # An object may also hide inside a pool; lone pixels and one-pixel lines along sharp
        # light edges are not one.
        if n and cv2.countNonZero(cv2.erode(left, self._kernel)) >= self._min_px:
            return False
        # Light that brightens shows the background's texture wherever there is some to
        # show; an object hides it (a featureless wall has none, so it cannot tell). Only a
        # blob the re-lit background leaves something of needs the test: light leaves nothing.
        if n and not darkens:
            agreement, texture = _agreement(f, fs, b, bs, mask)
            if agreement < HIDDEN and texture >= TEXTURE:
                return False
        np.bitwise_and(mask, left, out=mask)  # clears the explained pixels, no one else's
        return True

    def _overshoot(self, f: np.ndarray, b: np.ndarray, mask: np.ndarray,
                   thresh: np.ndarray, total: int) -> bool:
        """Whether a darkening is the recent scene-wide brightening overshooting.

        A flood lighting part of the picture raises the whole background with the scene-wide
        gain; where the light does not reach, a dimming too slight to see (a street dimming
        on its own) then darkens past the threshold, smoothly and over texture too faint to
        tell light from a dark object. With that brightening taken back out of the
        background, an object still darkens past the threshold in much of the blob.
        """
        if not self._raised:
            return False
        before = cv2.convertScaleAbs(b, alpha=math.exp(-self._raised))
        still = cv2.compare(cv2.subtract(before, f), thresh, cv2.CMP_GT)
        return cv2.countNonZero(cv2.bitwise_and(still, mask)) <= OBJECT_SHARE * total


def _agreement(f: np.ndarray, fs: np.ndarray, b: np.ndarray, bs: np.ndarray,
               mask: np.ndarray) -> tuple[float, float]:
    """Correlation of frame and background texture (each less its local mean) over mask,
    and the background texture's rms.

    Light scales the background's texture, so it stays; an object hides it, even a dark,
    smooth one that a low gain would otherwise explain as a shadow.
    """
    hf = cv2.subtract(f, fs, dtype=cv2.CV_32F)
    hb = b - bs
    cross = cv2.mean(cv2.multiply(hf, hb), mask)[0]
    energy = cv2.mean(cv2.multiply(hb, hb), mask)[0]
    norm = math.sqrt(cv2.mean(cv2.multiply(hf, hf), mask)[0] * energy)
    return (cross / norm if norm > 0 else 0.0), math.sqrt(energy)
