"""The live thread fails when its directory on tmpfs goes away under it, and its restart
publishes through a new publisher into the directory made again: live video comes back
while the camera records on. The daemon's own sides run here (a synthetic porch)."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from pathlib import Path

from config import CaptureConfig, Config, RecordingConfig, StoreConfig
from config.live import LiveConfig
from device.daemon.capture import CaptureSide
from device.daemon.notify import Notifier
from device.daemon.supervisor import Supervisor, build_sides
from device.daemon.workers import Backoff
from tests.support import wait_until


def test_the_live_thread_restarts_into_a_new_publisher(tmp_path: Path, shm: Path) -> None:
    cfg = Config(
        capture=CaptureConfig(source="synthetic:porch?seconds=4&fps=10&size=320x240",
                              loop=True),
        recording=RecordingConfig(keyframe_interval_seconds=0.5, preset="ultrafast"),
        store=StoreConfig(path=str(tmp_path / "store")), live=LiveConfig(dir=str(shm)))
    stop, reload = threading.Event(), threading.Event()
    with contextlib.ExitStack() as stack:
        sides = build_sides(cfg, capture=True, pace=4.0, stack=stack)
        capture = sides[0]
        assert isinstance(capture, CaptureSide) and capture.publisher is not None
        assert capture.live_feed is not None
        live, first = capture.publisher, capture.live_feed.publisher
        live.backoff = Backoff(first_s=0.0)  # the wait itself is tested with a clock
        supervisor = Supervisor(sides, Notifier())
        supervisor.start(stack)
        wait_until(lambda: (shm / "live.json").exists(), 30, "the live view")
        shutil.rmtree(shm)  # its next file cannot be written: the live thread fails
        wait_until(lambda: live.failures == 1, 30, "the live thread to fail")
        assert live.error is not None and "FileNotFoundError" in live.error
        wait_until(lambda: not supervisor.check(time.monotonic()) and live.error is None, 30,
                   "the supervisor to restart the live thread")
        wait_until(lambda: (shm / "live.json").exists() and list(shm.glob("f*.m4s")), 30,
                   "live video again")
        assert capture.live_feed.publisher is not first
        assert live.alive and capture.camera.alive and capture.process.alive
        stop.set()
        assert supervisor.run(stop, reload) is False
    assert live.failures == 1 and not live.alive
    assert not (shm / "live.json").exists()  # the new publisher cleaned up on stop
