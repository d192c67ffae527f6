"""Night over real footage: real frames darkened to an IR-lit night and relit by car
headlights sweeping across them, for the cases no recorded footage here has.

Each picture is taken as what the scene reflects (albedo); the light falling on it is the
illuminator's cone plus the night scenes' headlight pools (`capture.sources.night`), so a
pool keeps the real texture of the wall, hedge or street it crosses. Nothing moves: a good
detector reports no motion and nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from capture.sources.light import LightPool, light_field, vignette
from capture.sources.night import (
    AMBIENT,
    VIGNETTE,
    fast_sweep,
    flood_sweep,
    ground_sweep,
    wall_sweep,
    wide_sweep,
)

NIGHT_SCALE = 0.75  # a day picture's albedo as the illuminator lights it at night
NOISE = 6.0  # sensor noise at night, gray levels at lores size
SECONDS = 26.0  # one of each sweep, as in synthetic:headlights


def pools_at(t: float) -> tuple[LightPool, ...]:
    """The headlight pools at `t` seconds: a wall sweep, two lights over the ground, a wide
    pool, a flood from a car facing the house, and a fast beam of a car turning."""
    def u(t0: float, t1: float) -> float | None:
        return (t - t0) / (t1 - t0) if t0 <= t <= t1 else None

    pools: list[LightPool] = []
    if (v := u(2.0, 4.5)) is not None:
        pools.append(wall_sweep(v))
    if (v := u(6.0, 8.5)) is not None:
        pools.extend(ground_sweep(v))
    if (v := u(10.0, 14.0)) is not None:
        pools.append(wide_sweep(v))
    if (v := u(16.0, 21.0)) is not None:
        pools.extend(flood_sweep(v))
    if (v := u(24.0, 25.2)) is not None:
        pools.append(fast_sweep(v))
    return tuple(pools)


def no_pools(t: float) -> tuple[LightPool, ...]:
    """No headlights: the illuminator alone."""
    return ()


def looped(frames: Sequence[np.ndarray], count: int) -> list[np.ndarray]:
    """`count` frames of `frames` played forwards and back."""
    if not frames:
        raise ValueError("no frames")
    order = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1)) or [0]
    return [frames[order[i % len(order)]] for i in range(count)]


def relit(frames: Sequence[np.ndarray], fps: float, seconds: float = SECONDS,
          seed: int = 0,
          pools: Callable[[float], tuple[LightPool, ...]] = pools_at,
          weather: Callable[[np.ndarray], np.ndarray] | None = None) -> list[np.ndarray]:
    """`seconds` of night at `fps` over `frames` (gray uint8, played forwards and back):
    the real frames' own changes (clouds, exposure, noise) stay, the sweeps (`pools` at
    each time; `no_pools`: none) are added; `weather` (rain's `RainField.over`) is drawn
    on each lit picture before the sensor's noise."""
    if not frames:
        raise ValueError("no frames to relight")
    h, w = frames[0].shape[:2]
    ambient = vignette(w, h, VIGNETTE) * np.float32(AMBIENT)
    rng = np.random.default_rng(seed)
    out = []
    for i, gray in enumerate(looped(frames, round(seconds * fps))):
        albedo = gray.astype(np.float32) * np.float32(NIGHT_SCALE)
        pixel = albedo * light_field(ambient, pools(i / fps), 1.0)
        if weather is not None:
            pixel = weather(np.clip(pixel, 0, 255).astype(np.uint8)).astype(np.float32)
        pixel += rng.normal(0.0, NOISE, (h, w)).astype(np.float32)
        out.append(np.clip(pixel, 0, 255).astype(np.uint8))
    return out
