"""A capture-time stamp painted into the picture, for measuring glass-to-glass delay.

`synthetic:NAME?stamp=1` paints each frame's capture time (Unix milliseconds, modulo 2^32)
as a row of 32 black-or-white blocks across the top of the picture, and a row of 16 check
blocks under it (the complement of the two halves' XOR), big enough to survive H.264. A
page that draws the playing video onto a canvas reads the time back and compares it with
its own clock: the difference is the delay from capture to the screen. Only the full
picture is stamped: the motion detector's image is untouched, so stamps are not motion.
"""

from __future__ import annotations

import numpy as np

BITS, CHECK_BITS = 32, 16
MARGIN = 1  # blocks of margin on the left


def block_size(width: int) -> int:
    return max(4, width // (BITS + 2 * MARGIN))


def stamp_bits(ms: int) -> list[int]:
    value = ms & 0xFFFFFFFF
    check = ~((value >> 16) ^ value) & 0xFFFF
    return ([(value >> (BITS - 1 - i)) & 1 for i in range(BITS)]
            + [(check >> (CHECK_BITS - 1 - i)) & 1 for i in range(CHECK_BITS)])


def paint(bgr: np.ndarray, wall: float) -> np.ndarray:
    """A copy of `bgr` with `wall` (Unix seconds) stamped in."""
    out = bgr.copy()
    b = block_size(out.shape[1])
    bits = stamp_bits(round(wall * 1000))
    out[: 2 * b + b // 2, :] = 0
    for i, bit in enumerate(bits):
        row, col = divmod(i, BITS)
        y, x = row * b, (MARGIN + col) * b
        out[y:y + b, x:x + b] = 255 if bit else 0
    return out


def read(bgr: np.ndarray) -> int | None:
    """The stamped milliseconds (mod 2^32) of a decoded picture; None if the check fails."""
    b = block_size(bgr.shape[1])
    gray = bgr.mean(axis=2) if bgr.ndim == 3 else bgr
    bits = []
    for i in range(BITS + CHECK_BITS):
        row, col = divmod(i, BITS)
        y, x = row * b + b // 2, (MARGIN + col) * b + b // 2
        bits.append(1 if gray[y, x] > 127 else 0)
    value = int("".join(map(str, bits[:BITS])), 2)
    check = int("".join(map(str, bits[BITS:])), 2)
    return value if check == ~((value >> 16) ^ value) & 0xFFFF else None


class StampedImage:
    """A main picture with its capture time painted in, on first request."""

    __slots__ = ("_bgr", "_inner", "_wall")

    def __init__(self, inner: object, wall: float) -> None:
        self._inner, self._wall = inner, wall
        self._bgr: np.ndarray | None = None

    def to_bgr(self) -> np.ndarray:
        if self._bgr is None:
            self._bgr = paint(self._inner.to_bgr(), self._wall)  # type: ignore[attr-defined]
        return self._bgr
