"""The porch at night under the camera's IR illuminator, and the night scenes' timelines.

The IR picture is gray and flat (an illuminator lights everything from the camera's point of
view), dim in the corners (the illuminator's cone) and noisy (high sensor gain). Foliage
reflects the near infrared strongly, so the hedge is pale. Car headlights sweep pools of light
over walls, ground and hedge: the light field changes shape and place, nothing moves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from capture.sources.light import LightPool
from capture.sources.scene import Look, make_background
from capture.sources.scripts import Key, Script, State, track

NIGHT_NOISE_SIGMA = 10.0  # sensor noise at full resolution (IR gain is high)
NIGHT_NOISE_MEAN = 64  # noise tiles must hold +-6 sigma
AMBIENT = 0.55  # the illuminator's irradiance at the centre (pixel = albedo x irradiance)
VIGNETTE = 0.5  # the illuminator's cone: corners get this much less light


def make_night_albedo(w: int, h: int, seed: int) -> np.ndarray:
    """How the porch reflects IR: the day porch in gray, flattened, with a pale hedge (uint8)."""
    gray = cv2.cvtColor(make_background(w, h, seed), cv2.COLOR_BGR2GRAY).astype(np.float32)
    img = 95.0 + 0.5 * (gray - float(gray.mean()))
    rng = np.random.default_rng(seed + 7)
    s = h / 480.0
    x0, x1, y0, y1 = 0.0, 0.2 * w, 0.52 * h, 0.9 * h
    cv2.rectangle(img, (int(x0), int(y0 + 20 * s)), (int(x1), int(y1)), 70.0, -1)
    for _ in range(int(260 * (w * h) / (640 * 480)) + 40):
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        ax, ay = rng.uniform(4, 14) * s, rng.uniform(2, 7) * s
        cv2.ellipse(img, (int(cx), int(cy)), (max(1, int(ax)), max(1, int(ay))),
                    float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(105, 165)), -1)
    np.clip(img, 0, 160, out=img)
    return img.astype(np.uint8)


def _u(t: float, t0: float, t1: float) -> float | None:
    """Progress 0..1 through [t0, t1], None outside."""
    return (t - t0) / (t1 - t0) if t0 <= t <= t1 else None


def _bump(u: float | None) -> float:
    return math.sin(math.pi * u) ** 2 if u is not None and 0.0 <= u <= 1.0 else 0.0


def _drift(t: float) -> float:
    return 1.0 + 0.02 * math.sin(2 * math.pi * t / 20.0)  # the exposure loop never rests


def wall_sweep(u: float) -> LightPool:
    """One headlight crossing the wall left to right; the pool stretches at oblique angles."""
    return LightPool(-0.35 + 1.7 * u, 0.40 - 0.05 * math.sin(math.pi * u),
                     0.16 + 0.10 * abs(2 * u - 1), 0.32, 1.1, 20.0 * (2 * u - 1), 0.6)


def ground_sweep(u: float) -> tuple[LightPool, LightPool]:
    """Two headlights over the ground and the hedge, right to left."""
    x = 1.35 - 1.8 * u
    return (LightPool(x, 0.80, 0.14, 0.14, 1.3, -10.0, 0.5),
            LightPool(x + 0.24, 0.78, 0.12, 0.12, 1.2, -10.0, 0.5))


def wide_sweep(u: float) -> LightPool:
    """A pool wider than half the frame crossing all of it."""
    return LightPool(-0.7 + 2.4 * u, 0.5, 0.55, 0.75, 0.9, 0.0, 0.7)


def flood_sweep(u: float) -> tuple[LightPool, LightPool]:
    """A car facing the house: the whole scene brightens, a hot spot travels across."""
    x = -0.9 + 2.8 * u
    return (LightPool(x, 0.55, 1.1, 1.4, 1.0, 0.0, 0.9),
            LightPool(x, 0.5, 0.2, 0.25, 0.6, 0.0, 0.7))


def fast_sweep(u: float) -> LightPool:
    """A car turning: a narrow, harder-edged beam crosses the frame in about a second."""
    return LightPool(-0.3 + 1.6 * u, 0.45, 0.12, 0.45, 1.2, 0.0, 0.35)


def _night(t: float, lk: Sequence[Look]) -> State:
    return State(_drift(t), [], None)


def _headlights(t: float, lk: Sequence[Look]) -> State:
    pools: list[LightPool] = []
    if (u := _u(t, 2.0, 4.5)) is not None:
        pools.append(wall_sweep(u))
    if (u := _u(t, 6.0, 8.5)) is not None:
        pools.extend(ground_sweep(u))
    if (u := _u(t, 10.0, 14.0)) is not None:
        pools.append(wide_sweep(u))
    flood = _u(t, 16.0, 21.0)
    if flood is not None:
        pools.extend(flood_sweep(flood))
    if (u := _u(t, 24.0, 25.2)) is not None:
        pools.append(fast_sweep(u))
    # Auto-exposure answers the flood late and only in part.
    gain = _drift(t) * (1.0 - 0.3 * _bump(_u(t, 16.4, 21.4)))
    return State(gain, [], None, tuple(pools))


_CROSS: tuple[Key, ...] = ((2.0, -0.15, 0.92, 0.62), (5.5, 1.15, 0.92, 0.62))
_CALL: tuple[Key, ...] = ((8.0, 1.15, 0.95, 0.70), (10.5, 0.33, 0.82, 0.56),
                          (11.5, 0.33, 0.82, 0.56), (13.5, -0.15, 0.90, 0.60))
_IN_LIGHTS: tuple[Key, ...] = ((16.0, -0.15, 0.90, 0.60), (19.5, 1.15, 0.90, 0.60))


def _night_visitor(t: float, lk: Sequence[Look]) -> State:
    """A passer-by, a caller at the door, then a passer-by while headlights sweep."""
    people = [(p, look) for p, look in ((track(t, _CROSS), lk[0]), (track(t, _CALL), lk[1]),
                                        (track(t, _IN_LIGHTS), lk[0])) if p is not None]
    pools: list[LightPool] = []
    if (u := _u(t, 15.0, 18.5)) is not None:
        pools.append(wall_sweep(1.0 - u))
    if (u := _u(t, 16.5, 19.0)) is not None:
        pools.extend(ground_sweep(u))
    return State(_drift(t), people, None, tuple(pools))


NIGHT_SCENES: dict[str, Script] = {
    "night": Script(20.0, _night, (), night=True),
    "headlights": Script(30.0, _headlights, (), night=True),
    "night-visitor": Script(24.0, _night_visitor, (), night=True),
}
