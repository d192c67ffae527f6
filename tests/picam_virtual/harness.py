"""Runs INSIDE the trixie tree (tests/test_picamera_virtual.py): doorcam's `picamera:`
source on the real picamera2 wheel and libcamera's virtual camera.

Everything here is a TEST-ONLY workaround for running picamera2 off a Pi on a kernel without
dma-buf heaps; none of it is doorcam product code (that is imported unchanged from /src):

- VirtualTestMemfdAllocator: picamera2's default DmaAllocator needs /dev/dma_heap; this
  hands libcamera one memfd per buffer instead (two NV12 planes). It also replaces the
  DmaAllocator that Picamera2.close() builds again.
- VirtualTestPicamera2: the virtual camera refuses a Raw stream, which picamera2 asks for at
  init (`_get_raw_modes`); fall back to its processed formats. The virtual camera also
  delivers frames as fast as it can, so a pre_callback paces them at the configured rate
  (it is the fake sensor's clock, not a test wait).
- Pi 5 platform: picamera2 picks its encoder from the platform, which it detects by the
  ISP's /dev/video node ("pispbe" on a Pi 5) and otherwise takes for a Pi <= 4 (VC4, the
  V4L2 hardware encoder). This machine has no such node, so the harness states PISP, the
  platform whose `H264Encoder` is the software `LibavH264Encoder`.
- The pykms stub next to this file (picamera2 imports it for its DRM preview).
- The caller sets GLIBC_TUNABLES so libcamera 0.4.0's uninitialised buffer status reads as
  Success (zeroed allocations).

Modes: `nocamera`, `probe` (errors and frames), `simulate` (the `doorcam simulate` CLI,
with the config, store and events in /out or in the run folder /out/RUN given after the
deadline); each writes JSON to /out.
"""

from __future__ import annotations

import importlib
import json
import mmap
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, ClassVar

sys.path[:0] = ["/harness", "/src"]

import libcamera  # noqa: E402
import picamera2  # noqa: E402
import picamera2.encoders  # noqa: E402
import picamera2.outputs  # noqa: E402
import picamera2.picamera2 as picamera2_core  # noqa: E402
import picamera2.platform  # noqa: E402
from picamera2.allocators import Allocator  # noqa: E402
from picamera2.allocators.allocator import Sync  # noqa: E402

OUT = Path("/out")
FPS = float(os.environ.get("VIRTUAL_TEST_FPS", "30"))


class VirtualTestMemfdAllocator(Allocator):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.sync = self.MemfdSync
        self.frame_buffers: dict[Any, list[Any]] = {}
        self.maps: dict[int, mmap.mmap] = {}
        self.fds: list[int] = []

    def allocate(self, libcamera_config: Any, use_case: Any) -> None:
        self.close()
        for cfg in libcamera_config:
            buffers = []
            luma = cfg.stride * cfg.size.height
            for i in range(cfg.buffer_count):
                fd = os.memfd_create(f"virtual-test-{i}")
                os.ftruncate(fd, cfg.frame_size)
                self.fds.append(fd)
                planes = []
                for offset, length in ((0, luma), (luma, cfg.frame_size - luma)):
                    plane = libcamera.FrameBuffer.Plane()
                    plane.fd, plane.offset, plane.length = fd, offset, length
                    planes.append(plane)
                fb = libcamera.FrameBuffer(planes)
                # libcamera keeps its own dup of the fd: that is what requests report.
                self.maps[fb.planes[0].fd] = mmap.mmap(fd, cfg.frame_size, mmap.MAP_SHARED,
                                                       mmap.PROT_READ | mmap.PROT_WRITE)
                buffers.append(fb)
            self.frame_buffers[cfg.stream] = buffers

    def buffers(self, stream: Any) -> list[Any]:
        return self.frame_buffers[stream]

    def close(self) -> None:
        for m in self.maps.values():
            m.close()
        for fd in self.fds:
            os.close(fd)
        self.maps, self.fds, self.frame_buffers = {}, [], {}

    class MemfdSync(Sync):  # type: ignore[misc]
        def __init__(self, allocator: Any, fb: Any, write: bool) -> None:
            self.allocator, self.fb = allocator, fb

        def __enter__(self) -> mmap.mmap:
            return self.allocator.maps[self.fb.planes[0].fd]

        def __exit__(self, *exc: object) -> None:
            pass


class VirtualTestPicamera2(picamera2.Picamera2):  # type: ignore[misc]
    metadata_keys: ClassVar[set[str]] = set()

    def __init__(self, camera_num: int = 0, **kwargs: Any) -> None:
        super().__init__(camera_num, **kwargs)
        self._next_frame: float | None = None
        self.pre_callback = self._pace

    def _get_raw_modes(self) -> list[dict[str, Any]]:
        try:
            return super()._get_raw_modes()  # type: ignore[no-any-return]
        except Exception:
            cfg = self.camera.generate_configuration([libcamera.StreamRole.VideoRecording])
            f = cfg.at(0).formats
            return [{"format": str(p), "size": (s.width, s.height)}
                    for p in f.pixel_formats for s in f.sizes(p)]

    def _pace(self, request: Any) -> None:
        now = time.monotonic()
        self._next_frame = max(now, (self._next_frame or now) + 1.0 / FPS)
        time.sleep(self._next_frame - now)

    def capture_request(self, *args: Any, **kwargs: Any) -> Any:
        request = super().capture_request(*args, **kwargs)
        VirtualTestPicamera2.metadata_keys |= set(request.get_metadata())
        return request


picamera2.Picamera2 = VirtualTestPicamera2
picamera2.platform._platform = picamera2.platform.Platform.PISP
importlib.reload(picamera2.encoders)  # it binds H264Encoder by platform at import
assert picamera2.encoders.H264Encoder is picamera2.encoders.LibavH264Encoder
picamera2_core.DmaAllocator = VirtualTestMemfdAllocator


def _error(spec: str) -> str | None:
    from capture.frame import SourceError
    from capture.sources import open_source
    from config import CaptureConfig

    try:
        open_source(spec, CaptureConfig(), pace=None).close()
    except SourceError as exc:
        return str(exc)
    return None


def nocamera(spec: str) -> dict[str, Any]:
    return {"error": _error(spec)}


def probe(spec: str, frames: int) -> dict[str, Any]:
    from capture.sources import open_source
    from config import CaptureConfig

    src = open_source(spec, CaptureConfig(), pace=None)
    encoder = src._encoder  # type: ignore[attr-defined]
    try:
        busy = _error(spec)
        got = []
        for f in src.frames():
            got.append({"seq": f.seq, "pts": f.pts, "lores": list(f.lores.shape),
                        "exposure_changed": f.exposure_changed,
                        "packets": [[p.pts, p.keyframe, len(p.data)] for p in f.packets]})
            if len(got) == frames:
                break
        thumb = list(f.main.to_bgr().shape)
    finally:
        src.close()
    base = spec.split("?")[0]
    return {"busy": busy, "frames": got, "thumbnail": thumb,
            "encoder": type(encoder).__name__,
            "output_is_picamera2_output": isinstance(encoder.output, picamera2.outputs.Output),
            "metadata_keys": sorted(VirtualTestPicamera2.metadata_keys),
            "reopened": _error(spec),  # closed: it opens again
            "unsupported_size": _error(f"{base}?size=1280x720&lores=320x240"),
            "no_such_camera": _error("picamera:1?size=640x480&lores=320x240")}


def simulate(spec: str, deadline: float, run: str = "") -> dict[str, Any]:
    from device.cli import main

    folder = OUT / run
    store = folder / "store"

    def stop_after_a_clip() -> None:
        # Ready = a motion event has ended and a clip is committed; then stop like systemd.
        events = folder / "events.jsonl"
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if events.exists() and events.read_text().strip() and \
                    any((store / "clips").glob("*.mp4")):
                break
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_after_a_clip, daemon=True).start()
    rc = main(["simulate", spec, "--store", str(store), "--config", str(folder / "doorcam.toml"),
               "--events-jsonl", str(folder / "events.jsonl"), "--quiet"])
    return {"rc": rc}


if __name__ == "__main__":
    mode, spec = sys.argv[1], sys.argv[2]
    try:
        if mode == "nocamera":
            result = nocamera(spec)
        elif mode == "probe":
            result = probe(spec, int(sys.argv[3]))
        else:
            result = simulate(spec, float(sys.argv[3]), *sys.argv[4:5])
    except BaseException as exc:  # the test shows it; the harness must always report
        result = {"harness_error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
    (OUT / f"{mode}.json").write_text(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)  # picamera2's atexit close() must not hide what happened
