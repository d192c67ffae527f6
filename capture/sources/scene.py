"""Drawing the synthetic porch: a textured background, people, noise, light and shadow."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Color = tuple[int, int, int]  # BGR
SHIFT = 4  # fractional bits of drawing coordinates
NOISE_MEAN = 16  # noise tiles hold mean+N(0, sigma) so addWeighted can subtract it back


@dataclass(frozen=True)
class Look:
    """A person's clothes and skin."""

    shirt: Color
    stripe: Color
    trousers: Color
    skin: Color
    hair: Color

    @staticmethod
    def random(rng: np.random.Generator) -> Look:
        def c(lo: int, hi: int) -> Color:
            b, g, r = (int(v) for v in rng.integers(lo, hi, 3))
            return b, g, r

        skins: list[Color] = [(90, 120, 170), (120, 160, 210), (60, 80, 120), (150, 180, 225)]
        return Look(c(20, 230), c(0, 90), c(20, 120), skins[int(rng.integers(len(skins)))],
                    c(0, 60))

    @staticmethod
    def infrared(rng: np.random.Generator) -> Look:
        """Clothes under IR light: most dyes are transparent in the near infrared, so fabric
        and skin look pale and hair dark, whatever their colour by day."""
        def v(lo: int, hi: int) -> Color:
            g = int(rng.integers(lo, hi))
            return g, g, g

        return Look(v(150, 230), v(60, 120), v(110, 200), v(170, 225), v(30, 80))


@dataclass(frozen=True)
class Pose:
    """Where a person stands: x and foot as fractions of width/height, height in frame heights."""

    x: float
    foot: float
    height: float
    phase: float  # walking phase (radians); 0 and constant when standing


def _smooth_noise(rng: np.random.Generator, w: int, h: int, cells: int) -> np.ndarray:
    """Low-frequency blotches in [-1, 1]: random cells scaled up smoothly."""
    small = rng.uniform(-1, 1, (max(2, cells * h // w), cells)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def make_background(w: int, h: int, seed: int) -> np.ndarray:
    """The porch: a brick wall, a panelled door, a floor and a potted plant (BGR uint8)."""
    rng = np.random.default_rng(seed)
    s = h / 480.0
    img = np.empty((h, w, 3), np.float32)
    img[:] = (70, 95, 150)  # brick
    bh, bw = max(3, int(22 * s)), max(6, int(60 * s))
    mortar = max(1, int(3 * s))
    for row, y in enumerate(range(0, h, bh)):
        img[y : y + mortar] = (170, 180, 185)
        off = (row % 2) * bw // 2
        for x in range(off, w, bw):
            img[y : y + bh, x : x + mortar] = (170, 180, 185)
            tint = rng.uniform(-18, 18)
            img[y + mortar : y + bh, x + mortar : x + bw] += tint
    floor_y = int(h * 0.78)
    img[floor_y:] = (120, 125, 128)
    cv2.line(img, (0, floor_y), (w, floor_y), (60, 60, 60), max(1, int(4 * s)))
    dx0, dx1, dy0 = int(w * 0.24), int(w * 0.42), int(h * 0.18)
    img[dy0:floor_y, dx0:dx1] = (30, 60, 110)  # wooden door
    pad = max(2, int(12 * s))
    mid = (dy0 + floor_y) // 2
    for y0, y1 in ((dy0 + pad, mid - pad // 2), (mid + pad // 2, floor_y - pad)):
        cv2.rectangle(img, (dx0 + pad, y0), (dx1 - pad, y1), (22, 48, 92), max(1, int(3 * s)))
    cv2.circle(img, (dx1 - 2 * pad, mid), max(2, int(6 * s)), (40, 170, 200), -1)
    cv2.rectangle(img, (int(w * 0.55), int(h * 0.25)), (int(w * 0.70), int(h * 0.45)),
                  (90, 70, 50), -1)  # window
    px, py = int(w * 0.82), int(h * 0.95)
    pot = np.array([[px - 40 * s, py], [px + 40 * s, py], [px + 55 * s, py - 60 * s],
                    [px - 55 * s, py - 60 * s]], np.int32)
    cv2.fillConvexPoly(img, pot, (40, 70, 150))
    for _ in range(14):
        a = rng.uniform(-2.6, -0.5)
        ln = rng.uniform(50, 120) * s
        cx, cy = px + np.cos(a) * ln * 0.6, py - 60 * s + np.sin(a) * ln * 0.6
        green = (int(rng.integers(20, 60)), int(rng.integers(110, 170)), int(rng.integers(20, 70)))
        cv2.ellipse(img, (int(cx), int(cy)), (int(ln * 0.5), max(2, int(ln * 0.14))),
                    float(np.degrees(a)), 0, 360, green, -1)
    # In place and in float32: at 1080p a float64 temporary would dominate peak memory.
    texture = _smooth_noise(rng, w, h, 24)
    texture *= 14
    texture += rng.standard_normal((h, w), dtype=np.float32) * 5
    img += texture[..., None]
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


def make_noise_tile(w: int, h: int, channels: int, sigma: float, seed: int,
                    mean: int = NOISE_MEAN) -> np.ndarray:
    """Sensor noise around `mean`, larger than the frame so random crops differ."""
    rng = np.random.default_rng(seed)
    shape = (h + 64, w + 64) if channels == 1 else (h + 64, w + 64, channels)
    tile = np.empty(shape, np.uint8)
    for c in range(channels):  # one float32 plane at a time keeps the 1080p peak small
        plane = rng.standard_normal((h + 64, w + 64), dtype=np.float32)
        plane *= sigma
        plane += mean
        np.clip(plane, 0, 2 * mean, out=plane)
        if channels == 1:
            tile[:] = plane
        else:
            tile[..., c] = plane
    return tile


def shadow_band(w: int, h: int, channels: int, depth: float = 0.45) -> np.ndarray:
    """A soft vertical cloud shadow, as a multiplier map scaled to 0..255, 0.4 frames wide."""
    bw = max(2, int(w * 0.4))
    prof = 1.0 - depth * np.sin(np.linspace(0, np.pi, bw)) ** 2
    row = np.round(prof * 255).astype(np.uint8)
    band = np.broadcast_to(row[None, :, None] if channels > 1 else row[None, :],
                           (h, bw, channels) if channels > 1 else (h, bw))
    return np.ascontiguousarray(band)


def apply_shadow(img: np.ndarray, band: np.ndarray, centre: float) -> None:
    """Darken img in place under a band centred at x = centre (fraction of width)."""
    w, bw = img.shape[1], band.shape[1]
    x0 = int(centre * w) - bw // 2
    a, b = max(0, x0), min(w, x0 + bw)
    if a < b:
        roi = img[:, a:b]
        cv2.multiply(roi, band[:, a - x0 : b - x0], dst=roi, scale=1 / 255)


def _shade(c: Color, gain: float, gray: bool) -> Color:
    if gray:
        v = min(255, int((0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2]) * gain))
        return v, v, v
    b, g, r = (min(255, int(v * gain)) for v in c)
    return b, g, r


def draw_person(img: np.ndarray, pose: Pose, look: Look, gain: float) -> None:
    """A walking figure with striped shirt, drawn in place (BGR or gray image)."""
    h, w = img.shape[:2]
    gray = img.ndim == 2
    hp = pose.height * h
    fx, fy = pose.x * w - 0.5, pose.foot * h - 0.5  # continuous coords: pixel centres at .5
    swing = float(np.sin(pose.phase))

    def pt(dx: float, dy: float) -> tuple[float, float]:
        return fx + dx * hp, fy - dy * hp

    # Filled polygons at fixed-point coordinates scale exactly, unlike cv2's thick lines,
    # so the directly drawn lores image matches a downscaled main image.
    def bar(a: tuple[float, float], b: tuple[float, float], width: float, c: Color) -> None:
        vx, vy = b[0] - a[0], b[1] - a[1]
        n = max(1e-6, float(np.hypot(vx, vy)))
        nx, ny = -vy / n * width * hp / 2, vx / n * width * hp / 2
        quad = [(a[0] + nx, a[1] + ny), (b[0] + nx, b[1] + ny), (b[0] - nx, b[1] - ny),
                (a[0] - nx, a[1] - ny)]
        cv2.fillConvexPoly(img, _fixed_pts(quad), c, cv2.LINE_8, SHIFT)

    trousers = _shade(look.trousers, gain, gray)
    for side in (-1, 1):
        bar(pt(side * 0.07, 0.5), pt(side * 0.07 + side * swing * 0.12, 0.0), 0.1, trousers)
    shirt = _shade(look.shirt, gain, gray)
    torso = [pt(-0.17, 0.82), pt(0.17, 0.82), pt(0.14, 0.46), pt(-0.14, 0.46)]
    cv2.fillConvexPoly(img, _fixed_pts(torso), shirt, cv2.LINE_8, SHIFT)
    stripe = _shade(look.stripe, gain, gray)
    y = 0.8
    while y > 0.5:
        bar(pt(-0.14, y), pt(0.14, y), 0.012, stripe)
        y -= 0.045
    for side in (-1, 1):
        bar(pt(side * 0.18, 0.82), pt(side * 0.2 - side * swing * 0.08, 0.45), 0.07, shirt)
    cx, cy = pt(0, 0.915)
    centre = _fixed(cx), _fixed(cy)
    cv2.circle(img, centre, _fixed(0.075 * hp), _shade(look.skin, gain, gray), -1,
               cv2.LINE_8, SHIFT)
    cv2.ellipse(img, centre, (_fixed(0.078 * hp), _fixed(0.06 * hp)), 0, 180, 360,
                _shade(look.hair, gain, gray), -1, cv2.LINE_8, SHIFT)


def _fixed(v: float) -> int:
    return int(max(-(2**26), min(2**26, round(v * (1 << SHIFT)))))


def _fixed_pts(pts: list[tuple[float, float]]) -> np.ndarray:
    return np.array([(_fixed(x), _fixed(y)) for x, y in pts], np.int32)


def person_visible(pose: Pose, aspect: float) -> bool:
    """Whether any of the figure is inside the frame (aspect = width / height)."""
    half = 0.25 * pose.height / aspect  # shoulder + arm reach, in widths
    return (pose.x + half > 0 and pose.x - half < 1
            and pose.foot > 0 and pose.foot - pose.height < 1)
