"""Timelines of the synthetic scenes: who is where and how bright, at scene time t."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from capture.sources.light import LightPool
from capture.sources.scene import Look, Pose

Key = tuple[float, float, float, float]  # (t, x, foot, height)
STEP_RATE = 1.8 * 2 * math.pi  # walking phase per second


@dataclass(frozen=True)
class State:
    gain: float  # overall exposure multiplier
    people: list[tuple[Pose, Look]]
    shadow: float | None  # centre (fraction of width) of a cloud shadow, if any
    lights: tuple[LightPool, ...] = ()  # pools of light sweeping over the scene (night)


@dataclass(frozen=True)
class Script:
    """A scene that repeats every `period` seconds; `state(t, looks)` with t in [0, period)."""

    period: float
    state: Callable[[float, Sequence[Look]], State]
    jumps: tuple[float, ...]  # scene times of sudden exposure changes
    night: bool = False  # drawn as the IR-lit night porch


@lru_cache(maxsize=64)
def looks(seed: int, cycle: int, night: bool = False) -> tuple[Look, Look]:
    """The two visitors' clothes in one repetition of a scene (as the IR camera sees them)."""
    rng = np.random.default_rng([seed, cycle])
    pick = Look.infrared if night else Look.random
    return pick(rng), pick(rng)


def track(t: float, keys: Sequence[Key]) -> Pose | None:
    """Piecewise-linear walk through keys; None outside them. Standing still sways a little."""
    if t < keys[0][0] or t > keys[-1][0]:
        return None
    for a, b in itertools.pairwise(keys):
        if t <= b[0]:
            u = (t - a[0]) / (b[0] - a[0])
            x, foot, height = (a[i] + (b[i] - a[i]) * u for i in (1, 2, 3))
            if a[1:] == b[1:]:
                return Pose(x + 0.004 * math.sin(t * 3.0), foot, height, 0.0)
            return Pose(x, foot, height, t * STEP_RATE)
    return None


def _people(*pairs: tuple[Pose | None, Look]) -> list[tuple[Pose, Look]]:
    return [(p, lk) for p, lk in pairs if p is not None]


_VISIT = ((2.0, 1.15, 0.98, 0.80), (5.0, 0.33, 0.80, 0.55), (6.5, 0.33, 0.80, 0.55),
          (9.5, 1.15, 0.98, 0.80))
_PASSER = ((13.0, -0.15, 0.88, 0.60), (15.5, 1.15, 0.88, 0.60))


def _porch(t: float, lk: Sequence[Look]) -> State:
    gain = 1.0 + 0.06 * math.sin(2 * math.pi * t / 20.0)
    if 10.5 <= t < 16.5:
        gain *= 1.3
    elif t >= 16.5:
        gain *= 1.3 - 0.3 * (t - 16.5) / 3.5  # drifts back before the scene repeats
    return State(gain, _people((track(t, _VISIT), lk[0]), (track(t, _PASSER), lk[1])), None)


def _empty(t: float, lk: Sequence[Look]) -> State:
    return State(1.0 + 0.08 * math.sin(2 * math.pi * t / 20.0), [], None)


def _lights(t: float, lk: Sequence[Look]) -> State:
    gain = 1.0 + 0.04 * math.sin(2 * math.pi * t / 20.0)
    if 3.0 <= t < 7.0:
        gain *= 1.35
    elif 7.0 <= t < 10.0:
        gain *= 0.75
    shadow = -0.25 + 1.5 * (t - 12.0) / 5.0 if 12.0 <= t <= 17.0 else None
    return State(gain, [], shadow)


def _approach(t: float, lk: Sequence[Look]) -> State:
    gain = 1.0 + 0.04 * math.sin(2 * math.pi * t / 12.0)
    pose = None
    if 1.5 <= t <= 8.0:
        d = 1.0 - 0.8 * (t - 1.5) / 6.5  # distance falls to a fifth: five times taller
        height = 0.45 / d
        pose = Pose(0.40 + 0.1 * (1 - d) / 0.8, 0.8 + (height - 0.45) * 0.55, height,
                    t * STEP_RATE)
    elif 8.0 < t <= 10.5:
        pose = Pose(0.5 - 1.6 * (t - 8.0) / 2.5, 0.8 + 1.8 * 0.55, 2.25, t * STEP_RATE)
    return State(gain, _people((pose, lk[0])), None)


DAY_SCENES: dict[str, Script] = {
    "porch": Script(20.0, _porch, (10.5,)),
    "empty": Script(20.0, _empty, ()),
    "lights": Script(20.0, _lights, (3.0, 7.0, 10.0)),
    "approach": Script(12.0, _approach, ()),
}
