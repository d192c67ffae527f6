"""The virtual camera's picture and configuration, written into the test tree.

libcamera's virtual pipeline reads /usr/share/libcamera/pipeline/virtual/virtual.yaml (no
environment variable) and, with `frames: {path: DIR/}`, shows DIR/0.jpg, 1.jpg, ... in a
loop, each for four frames, scaled to every stream. The scene: a still porch, then a dark
blob crossing it, then still again, so the detector sees one clear event per loop.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

CONFIG = "usr/share/libcamera/pipeline/virtual/virtual.yaml"
FRAMES = "opt/virtual-camera/frames"
STILL_BEFORE, MOVING, STILL_AFTER = 16, 20, 16  # JPEGs; 4 frames each


def _background(w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = np.linspace(60, 170, w, dtype=np.float32)
    img = np.repeat(np.tile(x, (h, 1))[:, :, None], 3, axis=2)
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    cv2.rectangle(img, (w // 10, h // 5), (w // 3, h - h // 8), (90, 70, 50), -1)  # a door
    return np.clip(img, 0, 255).astype(np.uint8)


def write(root: Path, sizes: list[tuple[int, int]], fps: int = 30) -> int:
    """Write the config and JPEGs for one camera offering `sizes`; returns the JPEG count."""
    w, h = sizes[0]
    frames = root / FRAMES
    frames.mkdir(parents=True)
    bg = _background(w, h)
    n = 0
    for i in range(STILL_BEFORE + MOVING + STILL_AFTER):
        img = bg.copy()
        step = i - STILL_BEFORE
        if 0 <= step < MOVING:
            cx = w // 8 + step * (w * 3 // 4) // MOVING
            cv2.circle(img, (cx, h // 2), h // 6, (30, 40, 200), -1)
        cv2.imwrite(str(frames / f"{n}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        n += 1
    formats = "".join(f"    - width: {sw}\n      height: {sh}\n      frame_rates: [{fps}]\n"
                      for sw, sh in sizes)
    config = root / CONFIG
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'"Virtual0":\n  supported_formats:\n{formats}'
                      f'  frames:\n    path: "/{FRAMES}/"\n')
    return n
