"""FakePicamera2: a test double of the small part of picamera2 that PiCameraSource uses.

Not the real library (it needs a Raspberry Pi and libcamera). It renders a moving square,
hands out YUV420 main/lores arrays and metadata per request, and stands in for the hardware
H.264 encoder with libx264 (PyAV) producing Annex B packets with SPS/PPS repeated on every
keyframe, delivered through the Output.outputframe(frame, keyframe, timestamp_us) callback.
"""

from __future__ import annotations

import types
from typing import Any, ClassVar

import av
import cv2
import numpy as np


class H264Encoder:
    def __init__(self, bitrate: int | None = None, repeat: bool = False,
                 iperiod: int | None = None) -> None:
        self.repeat, self.iperiod = repeat, iperiod or 30
        self.ctx: Any = None

    def _open(self, w: int, h: int, fps: float) -> None:
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = w, h, "yuv420p"
        ctx.framerate = round(fps)
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(self.iperiod),
                       "repeat-headers": "1" if self.repeat else "0", "annexb": "1"}
        ctx.gop_size = self.iperiod
        self.ctx = ctx

    def encode(self, bgr: np.ndarray, timestamp_us: int, output: Any) -> None:
        frame = av.VideoFrame.from_ndarray(bgr, format="bgr24").reformat(format="yuv420p")
        frame.pts = timestamp_us
        for pkt in self.ctx.encode(frame):
            output.outputframe(bytes(pkt), pkt.is_keyframe, timestamp_us)


class FakeRequest:
    def __init__(self, arrays: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
        self.arrays, self.metadata, self.released = arrays, metadata, False

    def make_array(self, name: str) -> np.ndarray:
        assert not self.released, "used after release"
        return self.arrays[name]

    def get_metadata(self) -> dict[str, Any]:
        return dict(self.metadata)

    def release(self) -> None:
        self.released = True


class Picamera2:
    frames_before_unplug = 10_000
    exposure_jump_at = -1
    instances: ClassVar[list[Picamera2]] = []

    def __init__(self, index: int = 0) -> None:
        self.index, self.n, self.started = index, 0, False
        self.encoder: H264Encoder | None = None
        self.output: Any = None
        self.closed = False
        Picamera2.instances.append(self)

    def create_video_configuration(self, main: dict[str, Any], lores: dict[str, Any],
                                   controls: dict[str, Any]) -> dict[str, Any]:
        assert main["format"] == "YUV420" and lores["format"] == "YUV420"
        return {"main": main, "lores": lores, "controls": controls}

    def configure(self, config: dict[str, Any]) -> None:
        self.main, self.lores = config["main"]["size"], config["lores"]["size"]
        self.fps = config["controls"]["FrameRate"]

    def start_encoder(self, encoder: H264Encoder, output: Any, name: str = "main") -> None:
        assert name == "main"
        self.encoder, self.output = encoder, output
        encoder._open(*self.main, self.fps)

    def start(self) -> None:
        self.started = True

    def capture_request(self) -> FakeRequest:
        if not self.started or self.n >= self.frames_before_unplug:
            raise RuntimeError("Camera frontend has timed out!")
        w, h = self.main
        bgr = np.full((h, w, 3), 110, np.uint8)
        x = 10 + 6 * (self.n % 40)
        cv2.rectangle(bgr, (x * w // 320, h // 3), ((x + 40) * w // 320, 2 * h // 3),
                      (30, 40, 200), -1)
        lw, lh = self.lores
        small = cv2.resize(bgr, (lw, lh), interpolation=cv2.INTER_AREA)
        stamp_ns = 5_000_000_000 + int(self.n * 1e9 / self.fps)
        assert self.encoder is not None
        self.encoder.encode(bgr, stamp_ns // 1000, self.output)
        gain = 4.0 if self.n >= self.exposure_jump_at >= 0 else 1.0
        meta = {"SensorTimestamp": stamp_ns, "ExposureTime": 10_000, "AnalogueGain": gain,
                "DigitalGain": 1.0}
        self.n += 1
        return FakeRequest({"lores": cv2.cvtColor(small, cv2.COLOR_BGR2YUV_I420),
                            "main": cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)}, meta)

    def stop_encoder(self) -> None:
        self.encoder = None

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


def module() -> types.ModuleType:
    """The double, shaped like `import picamera2` (with its `encoders` submodule)."""
    mod = types.ModuleType("picamera2_test_double")
    mod.Picamera2 = Picamera2  # type: ignore[attr-defined]
    mod.encoders = types.SimpleNamespace(H264Encoder=H264Encoder)  # type: ignore[attr-defined]
    return mod
