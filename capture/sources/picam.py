"""The Raspberry Pi camera through picamera2 (imported only when this source is chosen).

One configuration, two streams, as picamera2 is designed: the main stream goes to the
H.264 encoder (hardware on Pi <= 4, libav software on Pi 5) whose packets feed the pre-roll
and clips as they are (no re-encode); the lores YUV420 stream's luma plane goes to the
motion detector. Per-frame exposure and gain metadata tell the detector when the camera
itself changed the picture. Spec: `picamera:0?size=1920x1080&fps=25&lores=320x240&gop=1`.

Privacy masks are painted into both streams' buffers in picamera2's `pre_callback`, which
runs on every completed request before picamera2 hands it to the encoder or to
`capture_request`: clips, thumbnails and motion never see the masked area, and the packets
stay the camera's own (no re-encode).

picamera2 is importable only where libcamera is (a Pi), so everything that touches it is
reached through the module handed in or imported at open time; its encoder's output must be
a real `picamera2.outputs.Output` subclass, built here from that module (`packet_output`).
"""

from __future__ import annotations

import contextlib
import errno
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import cv2
import numpy as np

from capture.frame import Frame, Packet, SourceError, StreamInfo
from capture.privacy import PrivacyMask
from config.schema import CaptureConfig

EXPOSURE_JUMP = 0.25  # relative change of exposure x gain that counts as the camera's own
CHECK_CAMERA = ("check that `rpicam-hello --list-cameras` lists it, the ribbon cable is seated "
                "the right way round at both ends, and the camera is enabled")
CHECK_BUSY = ("another process holds the camera (a second doorcam, rpicam-*, libcamera-* or "
              "motion); stop it and try again")


class PacketQueue:
    """What the encoder's output hands over: H.264 packets, put on the encoder's thread.

    Timestamps from picamera2's encoders are microseconds since the encoder's first frame
    (`Encoder.firsttimestamp`, SensorTimestamp in microseconds); frames count from there too.
    """

    def __init__(self, frame_time: float) -> None:
        self.packets: queue.SimpleQueue[Packet] = queue.SimpleQueue()
        self.frame_time = frame_time
        self.streams: list[str] = []  # codec names the encoder announced

    def add_stream(self, codec: Any) -> None:
        self.streams.append(str(codec))

    def put(self, frame: Any, keyframe: bool, timestamp: int | None, audio: bool) -> None:
        if audio or timestamp is None or frame is None:
            return
        self.packets.put(Packet(bytes(frame), timestamp / 1e6, self.frame_time, bool(keyframe)))

    def drain(self) -> list[Packet]:
        out = []
        while True:
            try:
                out.append(self.packets.get_nowait())
            except queue.Empty:
                return out


def packet_output(p2: ModuleType, sink: PacketQueue) -> Any:
    """A `picamera2.outputs.Output` feeding `sink` (the encoder refuses anything else)."""

    class _PacketOutput(p2.outputs.Output):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            # Packets carry the sensor's timestamps, so the libav encoder must not sleep
            # to re-create real-time spacing while flushing in stop_encoder.
            self.needs_pacing = False

        def _add_stream(self, encoder_stream: Any, codec_name: Any = None, *args: Any,
                        **kwargs: Any) -> None:
            sink.add_stream(codec_name)

        def outputframe(self, frame: Any, keyframe: bool = True, timestamp: int | None = None,
                        packet: Any = None, audio: bool = False) -> None:
            sink.put(frame, keyframe, timestamp, audio)

    return _PacketOutput()


class _LoresImage:
    """The picture for thumbnails: the lores stream in colour, converted only when asked.

    The main stream goes straight to the encoder; copying 1080p YUV out of every request
    just for the odd thumbnail would cost more than the whole motion loop.
    """

    __slots__ = ("_bgr", "_code", "_yuv")

    def __init__(self, yuv: np.ndarray, code: int) -> None:
        self._yuv, self._code = yuv, code
        self._bgr: np.ndarray | None = None

    def to_bgr(self) -> np.ndarray:
        if self._bgr is None:
            if self._yuv.ndim == 2 and self._yuv.shape[0] % 3 == 0:
                self._bgr = cv2.cvtColor(self._yuv, self._code)
            else:
                self._bgr = cv2.cvtColor(self._yuv, cv2.COLOR_GRAY2BGR)
        return self._bgr


# What picamera2 and libcamera raise for a camera they cannot use; anything else (a signal's
# exception included) passes through untouched.
_LIBRARY_ERRORS = (RuntimeError, OSError, ValueError, KeyError, IndexError, TypeError,
                   AttributeError)

_TO_BGR = {"YUV420": cv2.COLOR_YUV2BGR_I420, "YVU420": cv2.COLOR_YUV2BGR_YV12,
           "NV12": cv2.COLOR_YUV2BGR_NV12, "NV21": cv2.COLOR_YUV2BGR_NV21}


PICAMERA_PARAMS = ("size", "lores", "fps", "gop")


@dataclass(frozen=True)
class PiCameraSpec:
    """What `picamera:N?size=WxH&fps=F&lores=WxH&gop=S` asks for (parsed, nothing opened)."""

    index: int
    size: tuple[int, int]
    lores: tuple[int, int]
    fps: float
    gop: int  # frames between keyframes


def _size(text: str, what: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SourceError(f"picamera {what} must be WIDTHxHEIGHT, not {text!r}") from None
    if not (16 <= w <= 9152 and 16 <= h <= 6944):
        raise SourceError(f"picamera {what} must be from 16x16 to 9152x6944, not {text!r}")
    return w, h


def _number(text: str, what: str, lo: float, hi: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not lo <= value <= hi:  # NaN fails too
        raise SourceError(f"picamera {what} must be a number from {lo:g} to {hi:g}, "
                          f"not {text!r}")
    return value


def parse_spec(spec: str, cfg: CaptureConfig) -> PiCameraSpec:
    """Parse a picamera spec completely (the daemon's start check uses this too); SourceError
    names what is wrong. Opens nothing."""
    parts = urlsplit(spec.replace("picamera:", "picamera://", 1))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    unknown = sorted({k for k, _ in pairs} - set(PICAMERA_PARAMS))
    if unknown:
        raise SourceError(f"{spec}: unknown parameter(s) {', '.join(unknown)} "
                          f"(use {', '.join(PICAMERA_PARAMS)})")
    if parts.path or parts.fragment or not (parts.netloc or "0").isdigit():
        raise SourceError(f"{spec}: the camera number must be 0, 1, ... as in picamera:0")
    query = dict(pairs)
    fps = _number(query.get("fps", str(cfg.fps or 25)), "fps", 1, 240)
    gop_s = _number(query.get("gop", "1"), "gop (seconds between keyframes)", 0.01, 60)
    return PiCameraSpec(
        index=int(parts.netloc or 0),
        size=_size(query.get("size", "1920x1080"), "size"),
        lores=_size(query.get("lores", f"{cfg.lores_width}x{cfg.lores_width * 3 // 4}"),
                    "lores"),
        fps=fps, gop=max(1, round(gop_s * fps)))


def _is_busy(exc: BaseException) -> bool:
    """picamera2 wraps libcamera's EBUSY from Camera::acquire() in its own RuntimeError."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "errno", None) == errno.EBUSY or "busy" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class PiCameraSource:
    def __init__(self, spec: str, cfg: CaptureConfig, *,
                 picamera2: ModuleType | None = None,
                 privacy: PrivacyMask | None = None) -> None:
        p = parse_spec(spec, cfg)
        self.size, self.lores, self.fps, gop, index = p.size, p.lores, p.fps, p.gop, p.index
        self._p2 = picamera2 if picamera2 is not None else _import_picamera2()
        self._spec = spec
        self._cam = self._open(index)
        self._queue = PacketQueue(1.0 / self.fps)
        try:
            self._configure()
            if privacy:
                self._mask_buffers(privacy)
            # PyAV (the Pi 5's software encoder) takes a rate as int or Fraction, never float.
            rate = Fraction(self.fps).limit_denominator(1001)
            self._encoder = self._p2.encoders.H264Encoder(repeat=True, iperiod=gop,
                                                          framerate=rate)
            self._cam.start_encoder(self._encoder, packet_output(self._p2, self._queue),
                                    name="main")
            self._cam.start()
        except SourceError:
            self.close()
            raise
        except _LIBRARY_ERRORS as exc:
            self.close()
            raise SourceError(f"Raspberry Pi camera {spec}: {exc}") from None
        self._info = StreamInfo(self.size[0], self.size[1], self.fps, "h264", name=spec)
        self._last_exposure: float | None = None

    def _open(self, index: int) -> Any:
        spec = self._spec
        try:
            cameras = self._p2.Picamera2.global_camera_info()
        except _LIBRARY_ERRORS as exc:
            raise SourceError(f"{spec}: libcamera cannot list cameras ({exc}); "
                              f"{CHECK_CAMERA}") from None
        if not cameras:
            raise SourceError(f"{spec}: no camera detected; {CHECK_CAMERA}")
        if not 0 <= index < len(cameras):
            raise SourceError(f"{spec}: there is no camera {index}, {len(cameras)} detected "
                              f"(picamera:0 is the first); {CHECK_CAMERA}")
        try:
            return self._p2.Picamera2(index)
        except _LIBRARY_ERRORS as exc:
            if _is_busy(exc):
                raise SourceError(f"{spec}: camera busy: {CHECK_BUSY}") from None
            raise SourceError(f"{spec}: cannot open the camera ({exc}); {CHECK_CAMERA}") \
                from None

    def _configure(self) -> None:
        config = self._cam.create_video_configuration(
            main={"size": self.size, "format": "YUV420"},
            lores={"size": self.lores, "format": "YUV420"},
            controls={"FrameRate": self.fps})
        self._cam.configure(config)
        # libcamera quietly adjusts what a sensor cannot deliver; clips and the motion
        # zones would then not be what the owner configured.
        got = self._cam.camera_configuration()
        for name, key, want in (("main", "size", self.size), ("lores", "lores", self.lores)):
            have = tuple(got[name]["size"])
            if have != want:
                raise SourceError(
                    f"{self._spec}: the camera cannot deliver {key}={want[0]}x{want[1]} "
                    f"(it offered {have[0]}x{have[1]}); choose a size that "
                    "`rpicam-hello --list-cameras` lists or that its sensor can scale to")
        self._lores_code = _TO_BGR.get(str(got["lores"].get("format")),
                                       cv2.COLOR_YUV2BGR_I420)

    def _mask_buffers(self, mask: PrivacyMask) -> None:
        """Paint `mask` into every request's main and lores buffers before anyone sees them."""
        got = self._cam.camera_configuration()
        layouts = []
        for name in ("main", "lores"):
            stream = got[name]
            fmt, size = str(stream.get("format")), (int(stream["size"][0]),
                                                    int(stream["size"][1]))
            if fmt not in _TO_BGR:
                raise SourceError(f"{self._spec}: privacy masks need a YUV 4:2:0 {name} "
                                  f"stream, the camera gave {fmt}")
            mask.prepare(*size)  # the callback runs on picamera2's thread: no work there
            layouts.append((name, fmt, size, int(stream.get("stride") or size[0])))
        mapped = self._p2.MappedArray
        before = getattr(self._cam, "pre_callback", None)

        def paint(request: Any) -> None:
            if before is not None:
                before(request)
            for name, fmt, size, stride in layouts:
                with mapped(request, name) as m:
                    mask.paint_yuv420(m.array, fmt, size, stride)

        self._cam.pre_callback = paint

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
                # Unpadded rows: the whole YUV picture; padded: luma only (grey thumbnail).
                main = _LoresImage(yuv.copy() if yuv.shape[1] == w else lores,
                                   self._lores_code)
            finally:
                request.release()
            stamp = int(meta.get("SensorTimestamp", time.monotonic_ns()))
            if origin is None:
                origin = self._origin(stamp)
            mono = time.monotonic()
            yield Frame(seq, (stamp - origin) / 1e9, mono, time.time(), lores, main,
                        self._queue.drain(), self._exposure_changed(meta))
            seq += 1

    def _origin(self, stamp_ns: int) -> int:
        """Time 0 of the frames' pts: the encoder's first frame, as for its packets.

        The encoder sees every frame, capture_request only the latest, so the first frame
        read here may be a few frames after the first packet.
        """
        first = getattr(self._encoder, "firsttimestamp", None)
        if isinstance(first, int) and 0 <= stamp_ns - first * 1000 < 10**10:
            return first * 1000
        return stamp_ns

    def _exposure_changed(self, meta: dict[str, Any]) -> bool:
        """The camera changed exposure, gain or IR mode by itself on this frame."""
        level = float(meta.get("ExposureTime", 0)) * float(meta.get("AnalogueGain", 1.0)) \
            * float(meta.get("DigitalGain", 1.0))
        before, self._last_exposure = self._last_exposure, level
        if not before or not level:
            return False
        return abs(level / before - 1.0) > EXPOSURE_JUMP

    def close(self) -> None:
        cam = getattr(self, "_cam", None)
        if cam is None:
            return
        for step in (cam.stop_encoder, cam.stop, cam.close):
            with contextlib.suppress(*_LIBRARY_ERRORS):
                step()


def _import_picamera2() -> ModuleType:
    try:
        import picamera2
        import picamera2.encoders
        import picamera2.outputs
    except ImportError as exc:
        raise SourceError(
            "picamera: the picamera2 library is not available (on Raspberry Pi OS: "
            f"apt install python3-picamera2 and a venv with --system-site-packages): {exc}"
        ) from None
    return picamera2
