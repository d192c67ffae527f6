"""FakePicamera2: a fake of the part of picamera2 that PiCameraSource uses, for the
hardware-encoder path (`H264Encoder` over V4L2, Pi <= 4) that cannot run off a Pi.

The software path (Pi 5's `LibavH264Encoder`) runs on the real picamera2 and libcamera in
tests/test_picamera_virtual.py; this fake keeps the rules of picamera2 0.3.38 that our code
must obey, each mirroring the named lines of picamera2's own source (the PyPI wheel):

- `outputs.Output` mirrors outputs/output.py 4-63: `needs_pacing`, `needs_add_stream`,
  `start`/`stop`, `outputframe(frame, keyframe, timestamp, packet, audio)`, `_add_stream`.
- `Picamera2.start_encoder` assigns `encoder.output` (picamera2.py 2455-2475) before starting
  it, and the `Encoder.output` setter refuses anything not an `Output` with
  `RuntimeError("Must pass Output")` (encoders/encoder.py 201-215).
- `Encoder.start` calls each output's `start()` (encoder.py 308-317); `H264Encoder._start`
  announces its stream with `output._add_stream("video", "h264", width=, height=)`
  (encoders/h264_encoder.py 52-54, 97-99).
- Timestamps are microseconds of SensorTimestamp since the encoder's first frame, which it
  keeps in `firsttimestamp` (encoder.py 373-380).
- Packets are delivered by the encoder's own thread (encoders/v4l2_encoder.py 59-61 start the
  poll thread, 208-268 `thread_poll` calls `outputframe`), never on the caller's thread;
  `stop()` joins that thread (v4l2_encoder.py 164-165) and then stops the outputs
  (encoder.py 341-353).
- Every output's `needs_pacing` is read when the encoder stops (the libav encoder's flush,
  encoders/libav_h264_encoder.py 136-148): a plain object without it fails there.
- `Picamera2(n)` indexes `global_camera_info()` (picamera2.py 297, 349): with no camera
  that is an IndexError; a camera already acquired fails `__init__` with
  "Camera __init__ sequence did not complete." caused by libcamera's EBUSY (picamera2.py
  371-372, 580).
- `configure` adjusts sizes the sensor cannot deliver rather than failing, as libcamera's
  validate() does (picamera2.py configure_: Adjusted only logs), and records each stream's
  `stride` in `camera_configuration()` (picamera2.py 1155).
- `pre_callback` is None until set (picamera2.py 402) and is called with every completed
  request before the encoder encodes it and before `capture_request` can return it
  (picamera2.py 1470-1474, then the encoders at 1492-1494), so what it paints is what the
  encoder and the application get.
- `MappedArray(request, stream)` mirrors request.py 53-84: a context manager whose `array`
  is the stream's buffer itself, writable, shaped as `_make_array_shared` shapes it (YUV420:
  (height * 3 / 2, stride) rows, request.py 328-333); `make_array` returns a copy
  (request.py 169-183).

The "hardware encoder" itself is libx264 (PyAV) with SPS/PPS repeated on every keyframe.
"""

from __future__ import annotations

import errno
import queue
import threading
import types
from typing import Any, ClassVar

import av
import cv2
import numpy as np


class Output:
    def __init__(self, pts: Any = None) -> None:
        self.recording = False
        self.ptsoutput = pts
        self.needs_pacing = False
        self.needs_add_stream = False

    def start(self) -> None:
        self.recording = True

    def stop(self) -> None:
        self.recording = False

    def outputframe(self, frame: Any, keyframe: bool = True, timestamp: int | None = None,
                    packet: Any = None, audio: bool = False) -> None:
        pass

    def _add_stream(self, encoder_stream: Any, *args: Any, **kwargs: Any) -> None:
        pass


class H264Encoder:
    """The V4L2 hardware encoder's contract; libx264 does the encoding."""

    delivered_on: ClassVar[set[str]] = set()  # names of threads that called outputframe

    def __init__(self, bitrate: int | None = None, repeat: bool = True,
                 iperiod: int | None = None, framerate: float | None = None) -> None:
        self.repeat, self.iperiod, self.framerate = repeat, iperiod or 30, framerate
        self._output: list[Output] = []
        self._running = False
        self.firsttimestamp: int | None = None
        self._frames: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue()
        self.thread: threading.Thread | None = None

    @property
    def output(self) -> Any:
        return self._output[0] if len(self._output) == 1 else self._output

    @output.setter
    def output(self, value: Any) -> None:
        if isinstance(value, list):
            if not all(isinstance(o, Output) for o in value):
                raise RuntimeError("Must pass Output")
        elif isinstance(value, Output):
            value = [value]
        else:
            raise RuntimeError("Must pass Output")
        self._output = value

    def start(self, w: int, h: int, fps: float) -> None:
        self._running, self.firsttimestamp = True, None
        for out in self._output:
            out.start()
        for out in self._output:
            out._add_stream("video", "h264", width=w, height=h)
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = w, h, "yuv420p"
        ctx.framerate = round(fps)
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(self.iperiod),
                       "repeat-headers": "1" if self.repeat else "0", "annexb": "1"}
        ctx.gop_size = self.iperiod
        self.ctx = ctx
        self.thread = threading.Thread(target=self._thread_poll, name="fake-v4l2-poll",
                                       daemon=True)
        self.thread.start()

    def encode(self, yuv: np.ndarray, sensor_ns: int) -> None:
        """Queue a YUV420 frame to the 'device', as V4L2Encoder._encode does (no output here)."""
        ts = sensor_ns // 1000
        if self.firsttimestamp is None:
            self.firsttimestamp = ts
        self._frames.put((yuv.copy(), ts - self.firsttimestamp))

    def _thread_poll(self) -> None:
        while (item := self._frames.get()) is not None:
            yuv, ts = item
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = ts
            for pkt in self.ctx.encode(frame):
                H264Encoder.delivered_on.add(threading.current_thread().name)
                for out in self._output:
                    out.outputframe(bytes(pkt), pkt.is_keyframe, ts, None, False)
            self._frames.task_done()

    def wait_idle(self) -> None:
        """Until every queued frame has been delivered (tests read packets after a frame)."""
        self._frames.join()

    def stop(self) -> None:
        if not self._running:
            raise RuntimeError("Encoder already stopped")
        self._running = False
        if any(out.needs_pacing for out in self._output):
            raise AssertionError("an output that needs pacing would stall stop_encoder")
        self._frames.put(None)
        assert self.thread is not None
        self.thread.join()
        for out in self._output:
            out.stop()


class FakeRequest:
    def __init__(self, arrays: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
        self.arrays, self.metadata, self.released = arrays, metadata, False

    def make_array(self, name: str) -> np.ndarray:
        assert not self.released, "used after release"
        return self.arrays[name].copy()

    def get_metadata(self) -> dict[str, Any]:
        return dict(self.metadata)

    def release(self) -> None:
        self.released = True


class MappedArray:
    """The stream's buffer itself, for writing in place (e.g. from a pre_callback)."""

    def __init__(self, request: FakeRequest, stream: str, reshape: bool = True,
                 write: bool = True) -> None:
        self.request, self.stream = request, stream
        self.array: np.ndarray | None = None

    def __enter__(self) -> MappedArray:
        assert not self.request.released, "mapped after release"
        self.array = self.request.arrays[self.stream]
        return self

    def __exit__(self, *exc: object) -> None:
        self.array = None


class Picamera2:
    cameras: ClassVar[int] = 1
    frames_before_unplug = 10_000
    exposure_jump_at = -1
    largest: ClassVar[tuple[int, int]] = (4056, 3040)  # sizes above it get adjusted
    instances: ClassVar[list[Picamera2]] = []

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        return [{"Model": "imx477", "Id": f"/base/i2c@{n}/imx477@1a", "Num": n}
                for n in range(Picamera2.cameras)]

    def __init__(self, camera_num: int = 0) -> None:
        num = self.global_camera_info()[camera_num]["Num"]
        if any(c.index == num and not c.closed for c in Picamera2.instances):
            try:
                raise RuntimeError(f"Failed to acquire camera: {errno.errorcode[errno.EBUSY]}")
            except RuntimeError as exc:
                raise RuntimeError("Camera __init__ sequence did not complete.") from exc
        self.index, self.n, self.started = num, 0, False
        self.encoder: H264Encoder | None = None
        self.pre_callback: Any = None
        self.closed = False
        Picamera2.instances.append(self)

    def create_video_configuration(self, main: dict[str, Any], lores: dict[str, Any],
                                   controls: dict[str, Any]) -> dict[str, Any]:
        assert main["format"] == "YUV420" and lores["format"] == "YUV420"
        return {"main": dict(main), "lores": dict(lores), "controls": controls}

    def configure(self, config: dict[str, Any]) -> None:
        for name in ("main", "lores"):
            w, h = config[name]["size"]
            if w > self.largest[0] or h > self.largest[1]:
                config[name]["size"] = self.largest
        for name in ("main", "lores"):
            config[name]["stride"] = config[name]["size"][0]
        self.config = config
        self.main, self.lores = config["main"]["size"], config["lores"]["size"]
        self.fps = config["controls"]["FrameRate"]

    def camera_configuration(self) -> dict[str, Any]:
        return self.config

    def start_encoder(self, encoder: H264Encoder, output: Any = None,
                      name: str = "main") -> None:
        assert name == "main"
        if output is not None:
            encoder.output = output
        encoder.start(*self.main, self.fps)
        self.encoder = encoder

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
        gain = 4.0 if self.n >= self.exposure_jump_at >= 0 else 1.0
        meta = {"SensorTimestamp": stamp_ns, "ExposureTime": 10_000, "AnalogueGain": gain,
                "DigitalGain": 1.0}
        self.n += 1
        request = FakeRequest({"lores": cv2.cvtColor(small, cv2.COLOR_BGR2YUV_I420),
                               "main": cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)}, meta)
        if self.pre_callback is not None:
            self.pre_callback(request)
        assert self.encoder is not None
        self.encoder.encode(request.arrays["main"], stamp_ns)
        self.encoder.wait_idle()
        return request

    def stop_encoder(self) -> None:
        if self.encoder is not None:
            self.encoder.stop()
        self.encoder = None

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


def module() -> types.ModuleType:
    """The fake, shaped like `import picamera2` (with `encoders` and `outputs`)."""
    mod = types.ModuleType("fake_picamera2")
    mod.Picamera2 = Picamera2  # type: ignore[attr-defined]
    mod.MappedArray = MappedArray  # type: ignore[attr-defined]
    mod.encoders = types.SimpleNamespace(H264Encoder=H264Encoder)  # type: ignore[attr-defined]
    mod.outputs = types.SimpleNamespace(Output=Output)  # type: ignore[attr-defined]
    return mod
