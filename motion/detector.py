"""The motion detector: background subtraction on the lores image with real-camera guards."""

from __future__ import annotations

import math

import cv2
import numpy as np

from config.schema import MotionConfig
from motion.events import Box, EventTracker, FrameResult, MotionError
from motion.lighting import PoolExplainer, Relighter
from motion.regions import analysis_mask, find_boxes

HALVE_FROM = 256  # lores images this wide or wider are analysed at half size
WARMUP_SECONDS = 1.0  # after the first frame: learn background and flicker, report nothing
WARMUP_FRAMES = 8
FLICKER_RATE = 0.03  # per-frame learning rate of the per-pixel toggle rate
FLICKER_GAIN = 1.2  # threshold increase per unit of toggle rate (0..255 scale)
FLICKER_FLOOR = 0.25  # toggle rates adding less than this to a threshold are zeroed
GAIN_EPS = 0.003  # smaller scene-wide gain changes are left to the running average
GAIN_STEP = 0.05  # a gain step this large in one frame is reported as a lighting change
DARK = 8.0  # below this mean brightness a gain is meaningless
ABSORB_DECAY = 2.0  # e-folds of the difference learned in absorb_seconds
RELIGHT_ALPHA = 0.5  # background learning rate on a frame judged a lighting change
GAIN_ROWS = 8  # the scene-wide gain is measured on every GAIN_ROWS-th analysis row
DIM_LEVEL = 110.0  # below this mean brightness the threshold falls in proportion to it
NIGHT_LEVEL = 80.0  # night (pools of light possible) begins below this mean brightness ...
DAY_LEVEL = 140.0  # ... and ends above this one (headlights flood a dim scene)
POOL_WINDOW = 7  # analysis pixels over which a pool of light is taken as locally uniform
_U8 = np.dtype(np.uint8)
# The per-frame OpenCV calls pass their arguments by position: cv2's bindings take about
# half a microsecond per keyword argument, a tenth of this detector's busy-frame time in all.
_ANCHOR = (-1, -1)  # the kernel's centre
_NO_BOXES: tuple[tuple[float, float, float, float], ...] = ()


class MotionDetector:
    """Feed lores frames in order; get motion, score, boxes and event transitions."""

    def __init__(self, cfg: MotionConfig, width: int, height: int) -> None:
        if not (isinstance(width, int) and isinstance(height, int)) or width < 8 or height < 8:
            raise MotionError(f"lores size must be at least 8x8 pixels, got {width}x{height}")
        self.cfg = cfg
        self.width, self.height = width, height
        self._shape = (height, width)
        self._scale = 2 if width >= HALVE_FROM else 1
        aw, ah = width // self._scale, height // self._scale
        self.analysis_size = (aw, ah)
        kernel = round(cfg.blur / self._scale) if cfg.blur else 0
        self._blur = kernel + 1 - kernel % 2 if kernel > 1 else 0
        self._area = analysis_mask(cfg.mask, cfg.zones, aw, ah)
        self._masked = cv2.countNonZero(self._area) < aw * ah
        self._area_px = cv2.countNonZero(self._area)
        self._min_px = max(1.0, cfg.min_area * self._area_px)
        self._global_px = cfg.global_change * self._area_px
        self._tracker = EventTracker(cfg.persistence, cfg.persistence_window, cfg.quiet_seconds)
        self._relighter = Relighter(aw, ah)
        # Lighting is judged against the whole picture's smallest blob, not a zone's.
        self._pools = PoolExplainer(aw, ah, POOL_WINDOW, max(1.0, cfg.min_area * aw * ah))
        self._base = cfg.threshold  # the threshold before flicker, lowered in dim pictures
        self._level = DIM_LEVEL  # mean brightness of the background (until measured)
        # Pools of light show only in a dim picture; by day the explainer costs nothing.
        self._night = False
        self._kernel = np.ones((3, 3), np.uint8)
        shape = (ah, aw)
        self._src = np.empty((height, width), np.uint8)
        self._small = np.empty(shape, np.uint8)
        self._frame = np.empty(shape, np.uint8)  # blurred analysis image
        self._bg = np.zeros(shape, np.float32)
        self._bg8 = np.empty(shape, np.uint8)
        self._diff = np.empty(shape, np.uint8)
        self._fg = np.zeros(shape, np.uint8)
        self._prev_fg = np.zeros(shape, np.uint8)
        # Changed pixels before the mask; the same buffer as _fg when nothing is masked.
        self._raw = np.zeros(shape, np.uint8) if self._masked else self._fg
        self._toggle = np.empty(shape, np.uint8)
        self._flicker = np.zeros(shape, np.float32)
        self._thresh = np.full(shape, cfg.threshold, np.uint8)
        self._flicker_max = 0.0  # upper bound of _flicker; 0.0 = _flicker is all zero
        self._prev_count = 0  # changed pixels in _prev_fg
        self._fg_is_prev = False  # _fg holds what _prev_fg should: swap before the next frame
        self._joined = np.empty(shape, np.uint8)
        self._blobs = np.empty(shape, np.uint8)
        self._still = np.empty(shape, np.uint8)
        self._unstreaked = np.empty(shape, np.uint8)  # 0 where streaks were left out
        # Row-strided views (no copies) on which the scene-wide gain is measured.
        self._frame_rows = self._frame[::GAIN_ROWS]
        self._bg_rows = self._bg[::GAIN_ROWS]
        self._joined_rows = self._joined[::GAIN_ROWS]
        self._still_rows = self._still[::GAIN_ROWS]
        self._moving = False
        self._frames = 0
        self._t0 = self._last_t = 0.0
        self._dt = 0.04

    @property
    def foreground(self) -> np.ndarray:
        """This frame's moving-pixel mask (uint8 0/255, `analysis_size`), read-only."""
        view = self._fg.view()
        view.flags.writeable = False
        return view

    def process(self, lores: np.ndarray, t: float, exposure_changed: bool = False) -> FrameResult:
        src = self._check(lores, t)
        if self._scale == 2:
            cv2.resize(src, self.analysis_size, self._small, 0, 0, cv2.INTER_AREA)
            src = self._small
        if self._blur:
            cv2.GaussianBlur(src, (self._blur, self._blur), 0, self._frame)
        else:
            np.copyto(self._frame, src)
        self._frames += 1
        if self._frames == 1:
            self._t0 = self._last_t = t
            np.copyto(self._bg, self._frame, casting="unsafe")
            return FrameResult(False, False, 0.0, _NO_BOXES, None, False)
        if t > self._last_t:
            self._dt += 0.1 * (t - self._last_t - self._dt)
        self._last_t = t
        warm = self._frames <= WARMUP_FRAMES or t - self._t0 < WARMUP_SECONDS

        self._pools.fade(self._dt)
        step = self._global_gain()
        if self._level < NIGHT_LEVEL:
            self._night = True
        elif self._level > DAY_LEVEL:
            self._night = False
        if self._level < DIM_LEVEL or self._base != self.cfg.threshold:
            self._dim_threshold()
        if self._fg_is_prev:
            self._fg_is_prev = False
            self._prev_fg, self._fg = self._fg, self._prev_fg
            if not self._masked:
                self._raw = self._fg
        count = self._difference()
        lighting = step > GAIN_STEP
        relit = count > self._global_px or exposure_changed
        if relit:
            self._relighter.estimate(self._frame, self._bg)
            self._relighter.apply(self._bg)
            count = self._difference()
            # Whatever the gain field left is an object only if it forms real blobs.
            lighting = lighting or count <= self._global_px or exposure_changed
        boxes, moving = _NO_BOXES, 0
        pools = False  # every blob was a pool of light
        fast: np.ndarray | None = None  # where the background may learn fast: everywhere
        if count >= self._min_px:
            # Opening first: swaying leaves leave thin scattered fragments, objects are solid.
            # The whole frame is opened so that a blob cut by a zone edge keeps its core.
            cv2.erode(self._raw, self._kernel, self._joined)
            cv2.dilate(self._joined, self._kernel, self._joined, _ANCHOR,
                       self.cfg.dilate + 1)
            blobs = self._joined
            if self._masked:
                cv2.bitwise_and(self._joined, self._area, self._blobs)
                blobs = self._blobs
            # At night a raindrop near the lens shines in the illuminator's light as a
            # bright streak, new in every frame; by day a drop adds a few gray levels.
            before = self._prev_fg if self._night else None
            boxes, moving, streaks = find_boxes(blobs, self._fg, self._min_px, before)
            # A dark picture's mean rises with a bright streak alone (a raindrop lit by the
            # illuminator): that step is no lighting change, and taking it for one would
            # learn the streak into the background at RELIGHT_ALPHA, a ghost for seconds.
            if streaks:
                lighting = lighting and relit
                fast = self._outside(streaks)
            if boxes and self._night:
                boxes, moving = self._explain(boxes, moving)
                pools = not boxes
        if lighting and not boxes:
            self._fg.fill(0)
            self._moving = False
            cv2.accumulateWeighted(self._frame, self._bg, RELIGHT_ALPHA, fast)
            self._pools.mark_all()
            self._tracker.reset_history()
        else:
            self._learn(count, warm, fast)
        motion = bool(boxes) and not warm
        score = moving / self._area_px if motion else 0.0
        transition = self._tracker.step(t, motion, score, boxes if motion else _NO_BOXES)
        return FrameResult(
            motion, self._tracker.active, score, boxes if motion else _NO_BOXES, transition,
            (lighting or pools) and not boxes,
        )

    def _check(self, lores: np.ndarray, t: float) -> np.ndarray:
        if (type(lores) is np.ndarray and lores.dtype is _U8 and lores.shape == self._shape
                and lores.strides[1] == 1 and t >= self._last_t and t < math.inf):
            return lores  # the usual frame: every check below would pass
        if not isinstance(lores, np.ndarray):
            raise MotionError(f"lores frame must be a numpy array, got {type(lores).__name__}")
        if lores.dtype != np.uint8:
            raise MotionError(f"lores frame must be uint8 grayscale, got dtype {lores.dtype}")
        if lores.ndim != 2:
            raise MotionError(
                f"lores frame must be 2-D grayscale (HxW), got shape {lores.shape}")
        if lores.shape != (self.height, self.width):
            raise MotionError(
                f"lores frame is {lores.shape[1]}x{lores.shape[0]}, "
                f"detector was built for {self.width}x{self.height}")
        if not math.isfinite(t) or (self._frames and t < self._last_t):
            raise MotionError(f"frame time {t} is not finite or goes backwards "
                              f"(previous {self._last_t})")
        if lores.strides[1] != 1:
            np.copyto(self._src, lores)
            return self._src
        return lores

    def _global_gain(self) -> float:
        """Follow a scene-wide brightness change at once (auto-exposure); return its size.

        Lighting is a property of the whole frame, not of a zone; it is measured on
        pixels that were still in the previous frame, so a person entering does not
        darken the background around them.
        """
        # Means over every GAIN_ROWS-th row: a masked mean over all rows costs more than the
        # rest of the frame, and row-strided views need no copy.
        mask = self._still_rows if self._moving else None
        now = cv2.mean(self._frame_rows, mask)[0]
        before = cv2.mean(self._bg_rows, mask)[0]
        self._level = before
        if before < DARK:
            return 0.0
        gain = now / before
        if abs(gain - 1.0) > GAIN_EPS:
            np.multiply(self._bg, np.float32(gain), out=self._bg)
            self._pools.follow(gain)
        return abs(gain - 1.0)

    def _dim_threshold(self) -> None:
        """The same contrast gives smaller differences in a dim (IR night) picture."""
        cfg = self.cfg
        base = min(cfg.threshold,
                   max(cfg.dark_threshold, round(cfg.threshold * self._level / DIM_LEVEL)))
        if base == self._base:
            return
        self._base = base
        if self._flicker_max:
            cv2.convertScaleAbs(self._flicker, self._thresh, FLICKER_GAIN, base)
        else:
            self._thresh.fill(base)

    def _outside(self, streaks: list[np.ndarray]) -> np.ndarray:
        """Everywhere but the streaks left out this frame: a streak learned fast into the
        background would stay behind as a ghost for seconds. (Their pixels stay changed:
        an object entering that looked like one is matched against them next frame.)"""
        self._unstreaked.fill(255)
        cv2.drawContours(self._unstreaked, streaks, -1, 0, -1)
        return self._unstreaked

    def _explain(self, boxes: tuple[Box, ...], moving: int) -> tuple[tuple[Box, ...], int]:
        """Drop the blobs that a smoothly varying light explains (headlights sweeping)."""
        aw, ah = self.analysis_size
        kept: list[Box] = []
        for box in boxes:
            x, y = round(box[0] * aw), round(box[1] * ah)
            w, h = round(box[2] * aw), round(box[3] * ah)
            n = cv2.countNonZero(self._fg[y : y + h, x : x + w])
            # A box whose pixels an overlapping pool took (all but fewer than make a blob)
            # is gone with it.
            if n < self._min_px or self._pools.explains(
                    self._frame, self._bg, self._diff, self._fg, self._thresh, (x, y, w, h)):
                moving -= n - cv2.countNonZero(self._fg[y : y + h, x : x + w])
            else:
                kept.append(box)
        return (boxes if len(kept) == len(boxes) else tuple(kept)), moving

    def _difference(self) -> int:
        """Threshold |frame - background| against the per-pixel threshold; changed count."""
        cv2.convertScaleAbs(self._bg, self._bg8)
        cv2.absdiff(self._frame, self._bg8, self._diff)
        if self._masked:
            cv2.compare(self._diff, self._thresh, cv2.CMP_GT, self._raw)
            cv2.bitwise_and(self._raw, self._area, self._fg)
        else:
            cv2.compare(self._diff, self._thresh, cv2.CMP_GT, self._fg)
        return int(cv2.countNonZero(self._fg))

    def _learn(self, count: int, warm: bool, fast: np.ndarray | None) -> None:
        """Update flicker statistics and the background (moving pixels learn slowly; while
        warming up, fast where `fast` allows)."""
        if count or self._prev_count:
            cv2.bitwise_xor(self._fg, self._prev_fg, self._toggle)
            cv2.accumulateWeighted(self._toggle, self._flicker, FLICKER_RATE)
            cv2.convertScaleAbs(self._flicker, self._thresh, FLICKER_GAIN, self._base)
            self._fg_is_prev = True  # swapped in by the next frame instead of copied
            self._prev_count = count
            self._flicker_max += FLICKER_RATE * (255.0 - self._flicker_max)
        elif self._flicker_max:
            # Nothing toggled: the rates only decay. Once no rate can raise a threshold
            # any more they are zeroed and quiet frames skip this update altogether.
            self._flicker_max *= 1.0 - FLICKER_RATE
            if self._flicker_max * FLICKER_GAIN < FLICKER_FLOOR:
                self._flicker_max = 0.0
                self._flicker.fill(0.0)
                self._thresh.fill(self._base)
            else:
                cv2.accumulateWeighted(self._fg, self._flicker, FLICKER_RATE)  # all zero
                cv2.convertScaleAbs(self._flicker, self._thresh, FLICKER_GAIN, self._base)
        alpha = self.cfg.background_alpha
        if warm:
            cv2.accumulateWeighted(self._frame, self._bg, max(alpha, 1.0 / self._frames),
                                   fast)
            return
        self._moving = count > 0
        if count == 0:
            cv2.accumulateWeighted(self._frame, self._bg, alpha)
            return
        slow = 1.0 - math.exp(-ABSORB_DECAY * self._dt / self.cfg.absorb_seconds)
        if count < self._min_px:
            cv2.dilate(self._raw, self._kernel, self._joined, _ANCHOR, self.cfg.dilate)
        if alpha <= 0.5:
            # Everything learns at alpha, then moving pixels are pulled back to the slow rate:
            # (1 - alpha)(1 - back) = 1 - slow. One masked pass instead of two, and the
            # still mask is needed only on the rows the gain is measured on.
            cv2.bitwise_not(self._joined_rows, self._still_rows)
            cv2.accumulateWeighted(self._frame, self._bg, alpha)
            back = (slow - alpha) / (1.0 - alpha)
            cv2.accumulateWeighted(self._frame, self._bg, back, self._joined)
            return
        cv2.bitwise_not(self._joined, self._still)
        cv2.accumulateWeighted(self._frame, self._bg, alpha, self._still)
        cv2.accumulateWeighted(self._frame, self._bg, slow, self._joined)
