"""Synthetic porch scenes for the conditions the real footage does not cover."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

W, H, FPS = 320, 240, 25.0


def texture(seed: int, w: int = W, h: int = H, lo: float = 40, hi: float = 170) -> np.ndarray:
    """A smooth random texture in lo..hi, float32 (a wall, a path, plants)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((h // 8, w // 8), np.float32), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.random((h, w), np.float32), (0, 0), 1.5)
    img = 0.7 * base + 0.3 * (fine - fine.mean()) * 3 + 0.15
    img = (img - img.min()) / (img.max() - img.min())
    return (lo + (hi - lo) * img).astype(np.float32)


class Scene:
    """Background texture, per-frame lighting field, pasted objects, sensor noise."""

    def __init__(self, seed: int = 1) -> None:
        self.bg = texture(seed)
        self.rng = np.random.default_rng(seed + 100)

    def render(self, gain: float | np.ndarray = 1.0,
               objects: tuple[tuple[int, int, np.ndarray], ...] = ()) -> np.ndarray:
        img = self.bg.copy()
        for x, y, patch in objects:
            ph, pw = patch.shape
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(W, x + pw), min(H, y + ph)
            if x1 > x0 and y1 > y0:
                img[y0:y1, x0:x1] = patch[y0 - y : y1 - y, x0 - x : x1 - x]
        img = img * gain + self.rng.normal(0, 2.0, img.shape).astype(np.float32)
        return np.clip(img, 0, 255).astype(np.uint8)

    def static(self, seconds: float, t0: float = 0.0) -> Iterator[tuple[float, np.ndarray]]:
        for i in range(round(seconds * FPS)):
            yield t0 + i / FPS, self.render()


def person(w: int, h: int, seed: int = 7) -> np.ndarray:
    """A dark textured figure (clothes, folds), float32."""
    return texture(seed, max(w, 8), max(h, 8), lo=5, hi=60)[:h, :w]


def shadow_field(edge_x: float, width: float = 120.0, depth: float = 0.4) -> np.ndarray:
    """Gain field of a soft cloud-shadow edge at column edge_x, dark to its left."""
    x = np.arange(W, dtype=np.float32)
    s = np.clip((edge_x - x) / width + 0.5, 0.0, 1.0)
    s = s * s * (3 - 2 * s)  # smoothstep: cloud penumbrae are soft
    return np.broadcast_to(1.0 - depth * s, (H, W)).astype(np.float32)
