"""Rain over real footage: falling drops composited over real gray frames, by day and at night
under the camera's IR illuminator, for the weather no recorded footage here has.

What a camera sees of rain (Garg and Nayar, "Vision and Rain", 2007). A drop is a tiny
wide-angle lens: by day it shows the sky, brighter than the scene the camera exposes for.
It falls at its terminal speed, 4 m/s for a 1 mm drop, 8 m/s for 3 mm (Atlas et al. 1973:
v = 9.65 - 10.3 exp(-0.6 D) m/s, D in mm), so within one exposure it smears into a streak
of length L = f v T / z pixels (focal length f in pixels, exposure T, depth z). The streak is
partly transparent: each pixel on it sees the drop for only part of the exposure, and the
light the drop brings (its image area, pi d^2 / 4 pixels with d = f D / z) spreads over the
streak's L x w pixels, so a pixel gains alpha (R - background) with alpha = (pi d^2 / 4) /
(L w). Drops near the lens are out of focus: the blur circle is c = A f |1/z - 1/z_focus|
pixels for a lens aperture A, and the streak is w = sqrt(d^2 + c^2 + 1) pixels wide (the
1: the pixel itself). Wind slants every streak by the same angle atan(wind / v). How many
drops: Marshall and Palmer's sizes, n(D) = 8000 exp(-4.1 R^-0.21 D) per m^3 and mm of
diameter at a rain rate of R mm/h, counted from 0.5 to 4 mm (smaller drops show as
nothing), in the camera's field of view.

The numbers chosen, at 320 pixels wide (all of them scale with the width):
- a 90 degree horizontal field of view (a doorbell's wide lens): f = width / 2 = 160 px;
- light, moderate and heavy rain are 1, 5 and 20 mm/h (the meteorological classes: below
  2.5, 2.5-7.6 and above 7.6 mm/h);
- by day T = 1/250 s, overcast daylight at f/2 and base gain (1/250-1/1000 s): a 2 mm drop
  at 0.2-0.5 m is a streak 10-25 px long and 1-2 px wide; longer exposures make streaks
  longer and fainter, shorter ones brighter and shorter. A drop shows the overcast sky,
  SKY = 230 gray levels. Drops drawn one by one lie from 0.1 m (the camera's hood) to
  1 m: 250, 700 and 1,400 drops in the picture per frame in light, moderate and heavy rain
  (most of them faint). The nearest, largest gain up to 10-20 gray levels over a dark
  background: "slightly brighter", as real daytime rain is; more than 20 needs a shutter
  shorter than any camera uses in rain;
- at night T = 1/25 s (the longest exposure at 25 frames/s, which the camera takes in the
  dark), and the drops are lit by the illuminator beside the lens, whose light falls off
  as 1/z^2: a drop's radiance is IR_GLINT / z^2 gray levels, IR_GLINT = 300. Calibration:
  the illuminator lights a street 6 m away, of IR albedo 0.4, to about 70 gray levels, so
  a white surface 1 m away would read 70 x 36 / 0.4 = 6,300; water sends back toward the
  source about 5 % of what a white surface does (the front glint and the internal
  reflection), 6,300 x 0.05 = 300. The lens is focused at 2.5 m with a 2 mm aperture
  (f/1.5, a night lens), so a drop 10 cm from the lens is a streak 4-5 px wide, 400 px long
  (across the picture) and 100+ gray levels bright; at 30 cm, 1-2 px wide and about 15
  gray levels: the classic night false alarm is the few drops within 15 cm of the lens (1, 2
  and 4 a frame in light, moderate and heavy rain), bright, wide and crossing the picture
  in one frame. Drops are drawn from 5 cm.
- Rain farther away (to 20 m), and drops too faint to draw one by one (below FAINT gray
  levels), are a veil of the same light spread over the picture as fine streaks (random
  points drawn out along the fall): by day 1-4 gray levels brighter, at night nearly
  nothing (the illuminator's light is gone at that distance).

Drops persist from frame to frame: each falls on, f v / (fps z) pixels a frame (more than
its streak is long by day, end to end with it at night), and one leaving the picture comes
back at the top at the same depth. At night the real frames are darkened as
`capture.sources.relit` darkens them (the illuminator's cone, no headlights) and the
sensor's noise is added after the rain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from capture.sources.relit import SECONDS, no_pools, relit

RATES = {"light": 1.0, "moderate": 5.0, "heavy": 20.0}  # mm/h
MP_N0 = 8000.0  # Marshall-Palmer: drops per m^3 and mm of diameter
D_MIN, D_MAX = 0.5, 4.0  # mm: smaller drops show as nothing, larger ones break up
FOCAL = 0.5  # focal length as a fraction of the width: a 90 degree field of view
DAY_EXPOSURE = 1 / 250  # s
NIGHT_EXPOSURE = 1 / 25  # s
SKY = 230.0  # gray levels: a drop shows the overcast sky
IR_GLINT = 300.0  # gray levels x m^2: a drop's radiance under the illuminator at 1 m
APERTURE = 0.002  # m: the lens's aperture diameter
FOCUS = 2.5  # m: where the fixed-focus lens is sharp
WIND = 1.5  # m/s, across the picture: slants the streaks by atan(WIND / v)
GUSTS = 0.2  # drops' own horizontal speeds vary by this fraction of the wind
Z_NEAR_DAY = 0.1  # m: drops nearer than this are outside the camera's hood
Z_NEAR_NIGHT = 0.05
Z_DRAWN = 1.0  # m: drops up to here are drawn one by one ...
Z_FAR = 20.0  # ... and the rest, to here, are the veil
FAINT = 1.0  # gray levels: a drop that adds less than this at its peak joins the veil
VEIL_POINTS = 0.25  # share of pixels seeding the veil's fine streaks
VEIL_DEPTH = 3.0  # m: the veil's streaks are drawn out as a drop's at this depth


@dataclass(frozen=True)
class Rain:
    """How hard it rains and what lights the drops."""

    rate: float  # mm/h
    exposure: float  # s
    sky: float  # gray levels a drop shows from the scene's own light
    glint: float  # gray levels x m^2 from the illuminator (0 by day)
    near: float  # m: the nearest drops


def day_rain(intensity: str) -> Rain:
    """Daylight rain: `intensity` is light, moderate or heavy."""
    return Rain(RATES[intensity], DAY_EXPOSURE, SKY, 0.0, Z_NEAR_DAY)


def night_rain(intensity: str) -> Rain:
    """Rain at night under the camera's IR illuminator."""
    return Rain(RATES[intensity], NIGHT_EXPOSURE, 0.0, IR_GLINT, Z_NEAR_NIGHT)


def speed(d_mm: np.ndarray) -> np.ndarray:
    """Terminal fall speed (m/s) of drops of diameter d_mm (Atlas et al. 1973)."""
    return np.asarray(9.65 - 10.3 * np.exp(-0.6 * d_mm))


def _slope(rate: float) -> float:
    return 4.1 * rate ** -0.21  # Marshall-Palmer's Lambda, per mm


def drops_per_m3(rate: float) -> float:
    """Drops of D_MIN to D_MAX mm per cubic metre at `rate` mm/h."""
    lam = _slope(rate)
    return MP_N0 / lam * (math.exp(-lam * D_MIN) - math.exp(-lam * D_MAX))


def _area_per_m3(rate: float) -> float:
    """Sum of D^2 (m^2) over the drops in a cubic metre: their shadow, per metre of depth."""
    lam = _slope(rate)

    def upper(d: float) -> float:  # antiderivative of D^2 exp(-lam D), D in mm
        return -math.exp(-lam * d) * (d * d / lam + 2 * d / lam**2 + 2 / lam**3)

    return MP_N0 * (upper(D_MAX) - upper(D_MIN)) * 1e-6


class RainField:
    """Drops in front of a width x height camera at `fps`; `over` rains on one frame."""

    def __init__(self, rain: Rain, width: int, height: int, fps: float, seed: int = 0) -> None:
        self.rain = rain
        self.w, self.h, self.fps = width, height, fps
        self.f = FOCAL * width
        self.rng = np.random.default_rng(seed)
        z1, z2 = rain.near, Z_DRAWN
        volume = width * height / self.f**2 * (z2**3 - z1**3) / 3.0
        n = int(self.rng.poisson(drops_per_m3(rain.rate) * volume))
        rng = self.rng
        lam = _slope(rain.rate)
        u = rng.random(n)  # diameters: the exponential, truncated to D_MIN..D_MAX
        lo, hi = math.exp(-lam * D_MIN), math.exp(-lam * D_MAX)
        self.d_mm = -np.log(lo - u * (lo - hi)) / lam
        # Depths with density z^2 (the field of view widens with distance).
        self.z = np.cbrt(z1**3 + rng.random(n) * (z2**3 - z1**3))
        v = speed(self.d_mm)
        wind = WIND * (1.0 + GUSTS * rng.standard_normal(n))
        self.vx = self.f * wind / self.z  # px/s
        self.vy = self.f * v / self.z
        d = self.f * self.d_mm * 1e-3 / self.z  # the drop's image, px
        blur = APERTURE * self.f * np.abs(1.0 / self.z - 1.0 / FOCUS)
        self.width_px = np.sqrt(d * d + blur * blur + 1.0)
        length = np.hypot(self.vx, self.vy) * rain.exposure
        self.alpha = np.minimum(1.0, math.pi / 4 * d * d / (np.maximum(length, 1.0)
                                                            * self.width_px))
        self.radiance = rain.sky + rain.glint / self.z**2
        # Wrap-around margins: a drop re-enters at the top once its streak has left.
        self.my = length + self.vy / fps + 2.0
        self.mx = np.abs(self.vx) * rain.exposure + np.abs(self.vx) / fps + 2.0
        self.x = rng.uniform(-self.mx, width + self.mx)
        self.y = rng.uniform(-self.my, height)
        peak = self.alpha * np.abs(self.radiance - 100.0)
        self._drawn = peak >= FAINT
        faint = float(np.sum(math.pi / 4 * d[~self._drawn] ** 2))
        faint_r = float(np.sum((math.pi / 4 * d * d * self.radiance)[~self._drawn]))
        # The veil: farther rain's shadow per pixel (independent of the lens: pi/4 x the
        # drops' D^2 per m^3 x the depth), plus the faint drops' light.
        far = math.pi / 4 * _area_per_m3(rain.rate)
        self.veil = far * (Z_FAR - Z_DRAWN) + faint / (width * height)
        self.veil_light = (far * (rain.sky * (Z_FAR - Z_DRAWN)
                                  + rain.glint * (1 / Z_DRAWN - 1 / Z_FAR))
                           + faint_r / (width * height))
        ang = math.atan2(WIND, float(speed(np.array(2.0))))
        lv = max(1, round(self.f * float(speed(np.array(2.0))) * rain.exposure / VEIL_DEPTH))
        k = np.zeros((2 * lv + 1, 2 * lv + 1), np.float32)
        cv2.line(k, (round(lv - lv * math.sin(ang)), 0),
                 (round(lv + lv * math.sin(ang)), 2 * lv), 1.0, 1)
        self._veil_kernel = k / k.sum()
        self.streaks = 0  # drops drawn on the last frame
        self.brightest = 0.0  # the largest gain (gray levels) of a streak on it

    def over(self, gray: np.ndarray) -> np.ndarray:
        """`gray` (uint8) as seen through this frame's rain; the drops then fall on."""
        h, w = self.h, self.w
        buf = np.zeros((h, w, 2), np.float32)
        t = self.rain.exposure
        on = self._drawn & (self.y < h) & (self.y + self.vy * t > 0) & (self.x > -self.mx) \
            & (self.x < w + self.mx)
        x0, y0 = self.x[on], self.y[on]
        x1, y1 = x0 + self.vx[on] * t, y0 + self.vy[on] * t
        wid, a, rad = self.width_px[on], self.alpha[on], self.radiance[on]
        s = 16.0  # 4 bits of sub-pixel precision
        for i in range(len(x0)):
            thick = max(1, round(float(wid[i])))
            ai = float(a[i]) * float(wid[i]) / thick  # the same light on whole pixels
            cv2.line(buf, (int(x0[i] * s), int(y0[i] * s)), (int(x1[i] * s), int(y1[i] * s)),
                     (ai, ai * float(rad[i])), thick, cv2.LINE_8, 4)
        self.streaks = len(x0)
        buf = np.asarray(cv2.GaussianBlur(buf, (3, 3), 0.6), np.float32)
        seeds = (self.rng.random((h, w)) < VEIL_POINTS).astype(np.float32)
        veil = cv2.filter2D(seeds, -1, self._veil_kernel) * np.float32(1.0 / VEIL_POINTS)
        cover = np.minimum(buf[..., 0] + veil * np.float32(self.veil), 1.0)
        light = buf[..., 1] + veil * np.float32(self.veil_light)
        base = gray.astype(np.float32)
        out = base * (1.0 - cover) + light
        self.brightest = float(np.max(out - base))
        self._fall()
        return np.clip(out, 0, 255).astype(np.uint8)

    def _fall(self) -> None:
        self.x += self.vx / self.fps
        self.y += self.vy / self.fps
        gone = self.y >= self.h
        self.y[gone] -= self.h + self.my[gone]
        out = gone | (self.x < -self.mx) | (self.x > self.w + self.mx)
        self.x[out] = self.rng.uniform(-self.mx[out], self.w + self.mx[out])


def rained(frames: Sequence[np.ndarray], fps: float, intensity: str,
           seed: int = 0) -> list[np.ndarray]:
    """Daylight rain of `intensity` over `frames` (gray uint8, in their own order)."""
    if not frames:
        raise ValueError("no frames to rain on")
    h, w = frames[0].shape[:2]
    field = RainField(day_rain(intensity), w, h, fps, seed)
    return [field.over(f) for f in frames]


def rained_dark(frames: Iterable[np.ndarray], fps: float, intensity: str,
                seed: int = 0) -> list[np.ndarray]:
    """Rain at night under the IR illuminator over `frames` that are night pictures already
    (a night scene, footage taken at night): drawn over them as they are, in their own
    order, neither darkened again nor given more sensor noise (they have their own)."""
    field: RainField | None = None
    out = []
    for gray in frames:
        if field is None:
            h, w = gray.shape[:2]
            field = RainField(night_rain(intensity), w, h, fps, seed)
        out.append(field.over(gray))
    if field is None:
        raise ValueError("no frames to rain on")
    return out


def rained_night(frames: Sequence[np.ndarray], fps: float, intensity: str,
                 seconds: float = SECONDS, seed: int = 0) -> list[np.ndarray]:
    """`seconds` of night rain under the IR illuminator over `frames` (played forwards and
    back), darkened as `relit` darkens them, with the sensor's noise. (Over pictures that
    are night already: `rained_dark`.)"""
    if not frames:
        raise ValueError("no frames to rain on")
    h, w = frames[0].shape[:2]
    field = RainField(night_rain(intensity), w, h, fps, seed)
    return relit(frames, fps, seconds, seed + 1, no_pools, field.over)
