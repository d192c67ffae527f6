"""Where the doorbell thread puts its ring marker: in the live directory on tmpfs while the
live view's publisher holds it (a press writes nothing to the SD card), else in the store;
either way the web app's push thread (its `RingWatch` over `DevicePaths.rings`) sees the ring.
The daemon's own sides run here: a synthetic porch through the capture side and its live
publisher, and the doorbell on gpiozero's mock pins."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from capture.live.place import filesystem_of
from config import CaptureConfig, Config, RecordingConfig, StoreConfig
from config.doorbell import DoorbellConfig
from config.live import LiveConfig
from device.daemon.notify import Notifier
from device.daemon.supervisor import Supervisor, build_sides
from device.web.notify import RingWatch
from device.wiring.paths import DevicePaths
from device.wiring.ringmark import read_ring, write_ring
from tests.support import require, wait_until


def ring_once(cfg: Config, pins: Any) -> tuple[float, RingWatch]:
    """Run the daemon's sides, press once; the press's time and the web app's watch."""
    watch = RingWatch(*DevicePaths.of(cfg).rings)
    stop, reload = threading.Event(), threading.Event()
    with contextlib.ExitStack() as stack:
        sides = build_sides(cfg, capture=True, pace=4.0, stack=stack)
        supervisor = Supervisor(sides, Notifier())
        supervisor.start(stack)
        doorbell = sides[-1]
        wait_until(lambda: doorbell._button is not None, 10,  # type: ignore[attr-defined]
                   "the doorbell's pins")
        before = time.time()
        pins.pin(17).drive_low()
        pins.pin(17).drive_high()
        wait_until(lambda: doorbell.rings == 1, 10, "the ring")  # type: ignore[attr-defined]
        stop.set()
        assert supervisor.run(stop, reload) is False
    return before, watch


def config(tmp_path: Path, live: LiveConfig) -> Config:
    return Config(
        capture=CaptureConfig(source="synthetic:empty?seconds=4&fps=10&size=320x240",
                              loop=True),
        recording=RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5,
                                  keyframe_interval_seconds=0.5, preset="ultrafast"),
        store=StoreConfig(path=str(tmp_path / "store")), live=live,
        doorbell=DoorbellConfig(enabled=True, pin=17, bounce_ms=20, record_seconds=1.0))


def test_the_marker_goes_to_the_live_directory_on_tmpfs(tmp_path: Path, shm: Path,
                                                        pins: Any) -> None:
    cfg = config(tmp_path, LiveConfig(dir=str(shm)))
    paths = DevicePaths.of(cfg)
    live, stored = paths.rings
    assert live.parent == shm and stored.parent == paths.root
    before, watch = ring_once(cfg, pins)
    at = read_ring(live)
    assert at is not None and before <= at <= time.time()
    assert not stored.exists(), "a press wrote to the store (the SD card)"
    assert filesystem_of(live) == "tmpfs"
    assert watch.rang(time.time()) == at, "the web app's push thread missed the ring"


def test_without_a_usable_live_directory_the_marker_goes_to_the_store(
        tmp_path: Path, pins: Any, caplog: pytest.LogCaptureFixture) -> None:
    # tmp_path is on the disk here: the live view's publisher refuses it, as on an SD card.
    require(filesystem_of(tmp_path) not in ("tmpfs", "ramfs"), "needs tmp_path on a disk")
    cfg = config(tmp_path, LiveConfig(dir=str(tmp_path / "live")))
    live, stored = DevicePaths.of(cfg).rings
    before, watch = ring_once(cfg, pins)
    assert "live view off" in caplog.text
    at = read_ring(stored)
    assert at is not None and before <= at <= time.time()
    assert not live.exists()
    assert watch.rang(time.time()) == at


def test_with_live_view_off_the_marker_goes_to_the_store(tmp_path: Path, pins: Any) -> None:
    cfg = config(tmp_path, LiveConfig(enabled=False))
    live, stored = DevicePaths.of(cfg).rings
    before, watch = ring_once(cfg, pins)
    at = read_ring(stored)
    assert at is not None and before <= at <= time.time()
    assert not live.exists()
    assert watch.rang(time.time()) == at


def test_the_watch_takes_the_newest_ring_of_either_place(tmp_path: Path) -> None:
    live, stored = tmp_path / "live" / "doorbell.ring", tmp_path / "doorbell.ring"
    live.parent.mkdir()
    now = time.time()
    write_ring(stored, now - 30)  # from before live view was turned on
    watch = RingWatch(live, stored)
    assert watch.rang(now) is None, "a ring from before the web app started"
    write_ring(live, now - 1)
    assert watch.rang(now) == now - 1
    assert watch.rang(now) is None, "once"
    write_ring(stored, now)  # the live directory went away: the daemon fell back
    assert watch.rang(now) == now
