"""A doorbell ring to Home Assistant's camera, one run: seconds from the button press to the
door's picture arriving at a subscriber of the home broker, against the ring's own event on
the same broker (the picture is sent first, so an automation on the ring shows it), and
that ring event against a second run of the same daemon without the camera.

Usage: .venv/bin/python bench/bench_hacamera.py [--presses N] [--out results.json]

The daemon is real: the supervisor's sides (`build_sides`: camera and motion threads on a
synthetic empty porch paced in real time, the live publisher writing its snapshot to a
directory on /dev/shm, the doorbell thread and the status side) run in this process with
gpiozero's mock pins (tests/gpio_pins.py) standing in for the button. The broker is a real
mosquitto on a free loopback port (tests/broker.py); Home Assistant is a plain MQTT client
(tests/uplink/mqtt/peer.py). Each press is a drive_low/drive_high of the mock pin; its time is
taken just before. Figures are from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import CaptureConfig, Config, RecordingConfig, StoreConfig  # noqa: E402
from config.doorbell import DoorbellConfig  # noqa: E402
from config.homeassistant import HomeAssistantConfig  # noqa: E402
from config.live import LiveConfig  # noqa: E402
from config.owner_mqtt import OwnerMqttConfig  # noqa: E402
from config.uplink import DeviceConfig  # noqa: E402
from device.daemon.notify import Notifier  # noqa: E402
from device.daemon.supervisor import Supervisor, build_sides  # noqa: E402
from tests.broker import MosquittoBroker  # noqa: E402
from tests.gpio_pins import mock_factory  # noqa: E402
from tests.uplink.mqtt.peer import Peer  # noqa: E402

PIN = 17
BASE = "doorcam/v1/device/bench"
SPACING_S = 1.0  # a new snapshot (every 0.5 s) between presses: each gets its own picture


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def run(presses: int, camera: bool = True) -> dict[str, float | int]:
    work = Path(tempfile.mkdtemp(prefix="bench-hacamera-"))
    shm = Path(tempfile.mkdtemp(prefix="bench-hacamera-", dir="/dev/shm"))
    broker = MosquittoBroker()
    broker.start()
    pins_gen = mock_factory()
    pins = next(pins_gen)
    cfg = Config(
        capture=CaptureConfig(source="synthetic:empty?seconds=4&fps=10&size=1280x720",
                              loop=True),
        recording=RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5,
                                  keyframe_interval_seconds=0.5, preset="ultrafast"),
        store=StoreConfig(path=str(work / "store")), device=DeviceConfig(id="bench"),
        live=LiveConfig(dir=str(shm / "live")),
        owner_mqtt=OwnerMqttConfig(enabled=True, port=broker.port),
        homeassistant=HomeAssistantConfig(enabled=True, camera=camera,
                                          camera_interval_s=3600),
        doorbell=DoorbellConfig(enabled=True, pin=PIN, bounce_ms=20, record_seconds=1.0))
    ha = Peer(broker.port)
    ha.subscribe(f"{BASE}/camera")
    ha.subscribe(f"{BASE}/doorbell")
    picture_s: list[float] = []
    ring_s: list[float] = []
    sizes: list[int] = []
    stop, reload = threading.Event(), threading.Event()
    try:
        with contextlib.ExitStack() as stack:
            sides = build_sides(cfg, capture=True, pace=1.0, stack=stack)
            supervisor = Supervisor(sides, Notifier())
            supervisor.start(stack)
            if camera:
                ha.expect(f"{BASE}/camera", timeout=60)  # the first snapshot's picture
            else:
                ha.subscribe(f"{BASE}/status")
                while ha.expect(f"{BASE}/status", timeout=60).payload != b"online":
                    pass
            for _ in range(presses):
                time.sleep(SPACING_S)  # pacing the presses, not waiting for a result
                with contextlib.suppress(queue.Empty):
                    while True:
                        ha.messages.get_nowait()
                pressed = time.monotonic()
                pins.pin(PIN).drive_low()
                pins.pin(PIN).drive_high()
                got: dict[str, float] = {}
                while len(got) < (2 if camera else 1):
                    msg = ha.messages.get(timeout=10)
                    kind = msg.topic.rsplit("/", 1)[1]
                    got.setdefault(kind, time.monotonic() - pressed)
                    if kind == "camera":
                        sizes.append(len(msg.payload))
                picture_s.append(got.get("camera", 0.0))
                ring_s.append(got["doorbell"])
            stop.set()
            supervisor.run(stop, reload)
    finally:
        ha.close()
        broker.stop()
        with contextlib.suppress(StopIteration):
            next(pins_gen)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
    return {"presses": presses,
            "picture_p50_s": statistics.median(picture_s), "picture_p95_s": p95(picture_s),
            "ring_event_p50_s": statistics.median(ring_s), "ring_event_p95_s": p95(ring_s),
            "picture_bytes_median": int(statistics.median(sizes)) if sizes else 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    result = run(args.presses)
    without = run(args.presses, camera=False)
    result["ring_event_p50_without_camera_s"] = without["ring_event_p50_s"]
    print(f"press -> camera picture at Home Assistant: p50 {result['picture_p50_s'] * 1000:.1f}"
          f" ms, p95 {result['picture_p95_s'] * 1000:.1f} ms ({args.presses} presses)")
    print(f"press -> ring event:                       p50 {result['ring_event_p50_s'] * 1000:.1f}"
          f" ms, p95 {result['ring_event_p95_s'] * 1000:.1f} ms")
    print(f"press -> ring event without the camera:    p50 "
          f"{without['ring_event_p50_s'] * 1000:.1f} ms (with / without: "
          f"{result['ring_event_p50_s'] / max(without['ring_event_p50_s'], 1e-6):.1f}x)")
    print(f"picture size (1280x720 porch): {result['picture_bytes_median'] / 1024:.0f} KiB")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
