"""A folder of still images, or a printf pattern such as input/in%06d.jpg, read with OpenCV."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from capture.frame import Frame, Packet, SourceError, StreamInfo
from capture.sources.base import ArrayImage, Clock, lores_size, run_passes
from config.schema import CaptureConfig

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm",
})
_PRINTF = re.compile(r"%(0?)(\d*)d")


@dataclass(slots=True)
class _Still:
    pts: float
    gray: np.ndarray
    main: ArrayImage
    packets: list[Packet] = field(default_factory=list)


def _natural_key(p: Path) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def is_pattern(spec: str) -> bool:
    return _PRINTF.search(Path(spec).name) is not None


def list_images(spec: str) -> list[Path]:
    """The image files a folder or printf pattern names, in frame order."""
    if is_pattern(spec):
        folder, name = Path(spec).parent, Path(spec).name
        m = _PRINTF.search(name)
        assert m is not None
        digits = rf"\d{{{int(m.group(2))},}}" if m.group(2) else r"\d+"
        rx = re.compile(re.escape(name[: m.start()]) + f"({digits})"
                        + re.escape(name[m.end():]) + "$")
        if not folder.is_dir():
            raise SourceError(f"image folder not found: {folder}")
        hits = [(int(mm.group(1)), p) for p in folder.iterdir()
                if (mm := rx.match(p.name)) and p.is_file()]
        if not hits:
            raise SourceError(f"{spec}: no files match the pattern")
        return [p for _, p in sorted(hits)]
    folder = Path(spec)
    if not folder.is_dir():
        raise SourceError(f"image folder not found: {folder}")
    files = sorted((p for p in folder.iterdir()
                    if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()), key=_natural_key)
    if not files:
        raise SourceError(f"{folder}: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return files


def check_spec(spec: str) -> None:
    """SourceError unless the folder or pattern names at least one image file (not read)."""
    list_images(spec)


class ImageSource:
    """Still images as frames at cfg.fps (25 when 0).

    An unreadable image after the first is skipped and counted in `skipped`; an unreadable
    first image or a change of size is a SourceError.
    """

    def __init__(self, spec: str, cfg: CaptureConfig, *, pace: float | None) -> None:
        self._files = list_images(spec)
        first = cv2.imread(str(self._files[0]), cv2.IMREAD_COLOR)
        if first is None:
            raise SourceError(f"{self._files[0]}: not an image OpenCV can read")
        self._first: np.ndarray | None = first
        h, w = first.shape[:2]
        self._fps = cfg.fps or 25.0
        codec = self._files[0].suffix.lower().lstrip(".").replace("jpg", "jpeg")
        self._info = StreamInfo(w, h, self._fps, codec, frames=len(self._files),
                                name=Path(spec).name)
        self._size = lores_size(w, h, cfg.lores_width)
        self._loop = cfg.loop
        self._clock = Clock(pace)
        self.skipped = 0

    @property
    def info(self) -> StreamInfo:
        return self._info

    def frames(self) -> Iterator[Frame]:
        return run_passes(self._pass, loop=self._loop, frame_time=1.0 / self._fps,
                          clock=self._clock, size=self._size)

    def close(self) -> None:
        self._first = None

    def _pass(self, offset: float) -> Iterator[_Still]:
        shape = (self._info.height, self._info.width)
        n = 0
        for i, path in enumerate(self._files):
            bgr: np.ndarray | None
            if i == 0 and self._first is not None:
                bgr, self._first = self._first, None
            else:
                bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                if i == 0:
                    raise SourceError(f"{path}: not an image OpenCV can read")
                self.skipped += 1
                continue
            if bgr.shape[:2] != shape:
                raise SourceError(
                    f"{path}: image is {bgr.shape[1]}x{bgr.shape[0]}, but the sequence "
                    f"started at {shape[1]}x{shape[0]}")
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            yield _Still(offset + n / self._fps, gray, ArrayImage(bgr))
            n += 1
