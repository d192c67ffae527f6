"""Light on the synthetic scene: the IR illuminator's vignetting and sweeping pools of light.

Light multiplies what a surface reflects (pixel = albedo x irradiance), so a pool of
headlight keeps the texture of the wall, ground or hedge it falls on and only changes its
brightness, smoothly and differently from place to place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

GRID = 8  # the light field is computed on a grid this many times coarser, then interpolated


@dataclass(frozen=True)
class LightPool:
    """A soft-edged elliptical pool of light; positions and radii are frame fractions."""

    x: float  # centre, fraction of width
    y: float  # centre, fraction of height
    rx: float  # half-axis along `angle`, fraction of width
    ry: float  # other half-axis, fraction of height
    peak: float  # irradiance added at the centre, in units of the illuminator's
    angle: float = 0.0  # degrees
    soft: float = 0.6  # fraction of the radius over which the edge fades out


def vignette(w: int, h: int, falloff: float) -> np.ndarray:
    """An IR illuminator's cone: 1.0 in the centre, 1 - falloff in the corners (float32)."""
    gw, gh = max(2, w // GRID), max(2, h // GRID)
    x = np.linspace(-1.0, 1.0, gw, dtype=np.float32)[None, :]
    y = np.linspace(-1.0, 1.0, gh, dtype=np.float32)[:, None]
    small = 1.0 - falloff * (x * x + y * y) / 2.0
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def light_field(ambient: np.ndarray, pools: tuple[LightPool, ...], gain: float) -> np.ndarray:
    """Irradiance: gain x (ambient + every pool), float32 of ambient's shape."""
    h, w = ambient.shape
    if not pools:
        return ambient * np.float32(gain)
    gw, gh = max(2, w // GRID), max(2, h // GRID)
    # Sample at cell centres of the coarse grid so every output size sees the same light.
    xs = ((np.arange(gw, dtype=np.float32) + 0.5) / gw)[None, :]
    ys = ((np.arange(gh, dtype=np.float32) + 0.5) / gh)[:, None]
    small = np.zeros((gh, gw), np.float32)
    for p in pools:
        a = math.radians(p.angle)
        dx, dy = xs - p.x, (ys - p.y) * (h / w)  # both in widths: the angle is geometric
        u = (dx * math.cos(a) + dy * math.sin(a)) / p.rx
        v = (-dx * math.sin(a) + dy * math.cos(a)) / (p.ry * h / w)
        d = np.sqrt(u * u + v * v)
        s = np.clip((1.0 - d) / max(p.soft, 1e-3), 0.0, 1.0)
        small += p.peak * s * s * (3.0 - 2.0 * s)  # smoothstep: soft edges
    field = np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    field += ambient
    field *= np.float32(gain)
    return field
