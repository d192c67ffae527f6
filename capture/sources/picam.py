"""The Raspberry Pi camera through picamera2 (imported only when this source is chosen).

One configuration, two streams, as picamera2 is designed: the main stream goes to the
H.264 encoder (hardware on Pi <= 4, libav software on Pi 5) whose packets feed the pre-roll
and clips as they are (no re-encode); the lores YUV420 stream's luma plane goes to the
motion detector. Per-frame exposure and gain metadata tell the detector when the camera
itself changed the picture. Spec: `picamera:0?size=1920x1080&fps=25&lores=320x240&gop=1`.
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from capture.frame import Frame, Packet, SourceError, StreamInfo
from config.schema import CaptureConfig

EXPOSURE_JUMP = 0.25  # relative change of exposure x gain that counts as the camera's own


class _PacketOutput:
    """picamera2 Output stand-in: the encoder thread hands us packets; we queue them."""

    def __init__(self) -> None:
        self.packets: queue.SimpleQueue[Packet] = queue.SimpleQueue()
        self.origin: int | None = None
        self.frame_time = 0.04

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def outputframe(self, frame: Any, keyframe: bool = True, timestamp: int | None = None,
                    packet: Any = None, audio: bool = False) -> None:
        if audio or timestamp is None:
            return
        if self.origin is None:
            self.origin = timestamp
        pts = (timestamp - self.origin) / 1e6  # picamera2 timestamps are microseconds
        self.packets.put(Packet(bytes(frame), pts, self.frame_time, bool(keyframe)))


class _LoresImage:
    """The picture for thumbnails: the lores stream in colour, converted only when asked.

    The main stream goes straight to the hardware encoder; copying 1080p YUV out of every
    request just for the odd thumbnail would cost more than the whole motion loop.
    """

    __slots__ = ("_bgr", "_yuv")

    def __init__(self, yuv: np.ndarray) -> None:
        self._yuv = yuv
        self._bgr: np.ndarray | None = None

    def to_bgr(self) -> np.ndarray:
        if self._bgr is None:
            if self._yuv.ndim == 2 and self._yuv.shape[0] % 3 == 0:
                self._bgr = cv2.cvtColor(self._yuv, cv2.COLOR_YUV2BGR_I420)
            else:
                self._bgr = cv2.cvtColor(self._yuv, cv2.COLOR_GRAY2BGR)
        return self._bgr


def _size(text: str, what: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SourceError(f"picamera {what} must be WIDTHxHEIGHT, not {text!r}") from None
    return w, h


class PiCameraSource:
    def __init__(self, spec: str, cfg: CaptureConfig, *,
                 picamera2: ModuleType | None = None) -> None:
        parts = urlsplit(spec.replace("picamera:", "picamera://", 1))
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.size = _size(query.get("size", "1920x1080"), "size")
        self.lores = _size(query.get("lores", f"{cfg.lores_width}x{cfg.lores_width * 3 // 4}"),
                           "lores")
        self.fps = float(query.get("fps", cfg.fps or 25))
        gop = max(1, round(float(query.get("gop", 1.0)) * self.fps))
        self._p2 = picamera2 if picamera2 is not None else _import_picamera2()
        try:
            self._cam = self._p2.Picamera2(int(parts.netloc or 0))
            config = self._cam.create_video_configuration(
                main={"size": self.size, "format": "YUV420"},
                lores={"size": self.lores, "format": "YUV420"},
                controls={"FrameRate": self.fps})
            self._cam.configure(config)
            self._output = _PacketOutput()
            self._output.frame_time = 1.0 / self.fps
            encoder = self._p2.encoders.H264Encoder(repeat=True, iperiod=gop)
            self._cam.start_encoder(encoder, self._output, name="main")
            self._cam.start()
        except (RuntimeError, OSError, IndexError, ValueError) as exc:
            raise SourceError(f"Raspberry Pi camera {spec}: {exc}") from None
        self._info = StreamInfo(self.size[0], self.size[1], self.fps, "h264", name=spec)
        self._last_exposure: float | None = None

    @property
    def info(self) -> StreamInfo:
        return self._info

    def frames(self) -> Iterator[Frame]:
        seq, origin = 0, None
        w, h = self.lores
        while True:
            try:
                request = self._cam.capture_request()
            except (RuntimeError, OSError) as exc:
                raise SourceError(f"Raspberry Pi camera stopped delivering frames: {exc}") \
                    from None
            try:
                meta = request.get_metadata()
                yuv = request.make_array("lores")
                lores = np.ascontiguousarray(yuv[:h, :w])
                # Unpadded rows: the whole I420 picture; padded: luma only (grey thumbnail).
                main = _LoresImage(yuv.copy() if yuv.shape[1] == w else lores)
            finally:
                request.release()
            stamp = int(meta.get("SensorTimestamp", time.monotonic_ns()))
            origin = stamp if origin is None else origin
            mono = time.monotonic()
            packets = self._drain()
            yield Frame(seq, (stamp - origin) / 1e9, mono, time.time(), lores, main, packets,
                        self._exposure_changed(meta))
            seq += 1

    def _drain(self) -> list[Packet]:
        out = []
        while True:
            try:
                out.append(self._output.packets.get_nowait())
            except queue.Empty:
                return out

    def _exposure_changed(self, meta: dict[str, Any]) -> bool:
        """The camera changed exposure, gain or IR mode by itself on this frame."""
        level = float(meta.get("ExposureTime", 0)) * float(meta.get("AnalogueGain", 1.0)) \
            * float(meta.get("DigitalGain", 1.0))
        before, self._last_exposure = self._last_exposure, level
        if not before or not level:
            return False
        return abs(level / before - 1.0) > EXPOSURE_JUMP

    def close(self) -> None:
        for step in (self._cam.stop_encoder, self._cam.stop, self._cam.close):
            with contextlib.suppress(RuntimeError, OSError):
                step()


def _import_picamera2() -> ModuleType:
    try:
        import picamera2
        import picamera2.encoders
    except ImportError as exc:
        raise SourceError(
            "picamera: the picamera2 library is not available (on Raspberry Pi OS: "
            f"apt install python3-picamera2 and a venv with --system-site-packages): {exc}"
        ) from None
    return picamera2
