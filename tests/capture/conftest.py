"""Fixtures for capture tests: small real videos and image folders written to tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

VideoMaker = Callable[..., Path]


def moving_square(i: int, w: int, h: int) -> np.ndarray:
    """A gradient with a white square whose x grows with i: frame order is visible."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = np.linspace(30, 120, w, dtype=np.uint8)[None, :, None]
    x = 4 + (i * 3) % (w - 24)
    img[h // 3 : h // 3 + 16, x : x + 16] = 255
    return img


def square_x(gray: np.ndarray) -> float:
    """Centre column of the bright square in a (lores) gray image."""
    cols = np.flatnonzero((gray > 200).sum(axis=0))
    return float(cols.mean()) if len(cols) else -1.0


def write_video(path: Path, codec: str = "libx264", *, frames: int = 30, size=(160, 120),
                fps: int = 25, options: dict[str, str] | None = None) -> Path:
    with av.open(str(path), "w") as out:
        st = out.add_stream(codec, rate=fps)
        st.width, st.height = size
        st.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if options:
            st.options = options
        for i in range(frames):
            img = moving_square(i, *size)
            out.mux(st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(st.encode())
    return path


@pytest.fixture
def make_video(tmp_path: Path) -> VideoMaker:
    """Factory: make_video("a.mp4", "libx264", frames=30, size=(160, 120), ...)."""

    def make(name: str, codec: str = "libx264", **kw: object) -> Path:
        return write_video(tmp_path / name, codec, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """12 numbered PNGs (frame2.png .. frame13.png: natural order differs from sorted)."""
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(12):
        cv2.imwrite(str(d / f"frame{i + 2}.png"), moving_square(i, 96, 64))
    (d / "notes.txt").write_text("not an image")
    return d


@pytest.fixture(name="square_x")
def square_x_fixture() -> Callable[[np.ndarray], float]:
    return square_x
