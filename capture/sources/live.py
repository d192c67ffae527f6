"""A live OpenCV source: a camera index, a /dev/video device or a stream URL."""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2
import numpy as np

from capture.frame import Frame, SourceError, StreamInfo
from capture.sources.base import ArrayImage, lores_size, to_lores
from config.schema import CaptureConfig

LIVE_SCHEMES = ("camera:", "/dev/video", "rtsp://", "rtsps://", "http://", "https://",
                "udp://", "tcp://", "rtmp://")


def parse_spec(spec: str) -> int | str:
    """What cv2.VideoCapture should open for a spec: 'camera:N' is device index N, a device
    path or URL is itself. SourceError for a bad index; opens nothing."""
    if spec.startswith("camera:"):
        index = spec.removeprefix("camera:")
        if not index.isdigit():
            raise SourceError(f"{spec}: camera index must be a number, as in camera:0")
        return int(index)
    return spec


capture_target = parse_spec  # the earlier name


class LiveSource:
    """Frames as the device delivers them, stamped with the clock at capture.

    Pacing does not apply: a camera runs in real time. Reading ends when the device stops
    delivering (`ended` then says so); reconnecting is the daemon's job.
    """

    def __init__(self, spec: str, cfg: CaptureConfig) -> None:
        self._spec = spec
        try:
            self._cap = cv2.VideoCapture(parse_spec(spec))
        except cv2.error as e:
            raise SourceError(f"{spec}: cannot open ({' '.join(str(e).split())})") from e
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"{spec}: cannot open (OpenCV VideoCapture failed)")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise SourceError(f"{spec}: opened but delivered no frame")
        self._mono_first = time.monotonic()
        self._first = first
        h, w = first.shape[:2]
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self._info = StreamInfo(w, h, fps if 0 < fps < 1000 else 25.0, "opencv", name=spec)
        self._size = lores_size(w, h, cfg.lores_width)
        self.ended: str | None = None

    @property
    def info(self) -> StreamInfo:
        return self._info

    def frames(self) -> Iterator[Frame]:
        seq, mono0 = 0, self._mono_first
        img: np.ndarray | None = self._first
        mono = self._mono_first
        while img is not None:
            gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
            yield Frame(seq, mono - mono0, mono, time.time() - (time.monotonic() - mono),
                        to_lores(gray, self._size), ArrayImage(img))
            seq += 1
            ok, nxt = self._cap.read()
            mono = time.monotonic()
            img = nxt if ok else None
        self.ended = f"{self._spec}: device stopped delivering frames"

    def close(self) -> None:
        self._cap.release()
