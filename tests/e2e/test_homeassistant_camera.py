"""Home Assistant's camera entity on a real mosquitto: its discovery, the door's current
snapshot arriving at once on a ring from gpiozero's mock pins (before the ring event, so an
automation on the ring shows the ringer), decoding as the live view's JPEG, never retained;
no picture of the past when the snapshot is stale, none at all when live view is off."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import paho.mqtt.client as mqtt

from config import CaptureConfig, Config, RecordingConfig, StoreConfig
from config.doorbell import DoorbellConfig
from config.homeassistant import HomeAssistantConfig
from config.live import LiveConfig
from config.owner_mqtt import OwnerMqttConfig
from config.uplink import DeviceConfig
from device.daemon.notify import Notifier
from device.daemon.status import StatusSide
from device.daemon.supervisor import Supervisor, build_sides
from device.wiring.paths import current_snapshot
from device.wiring.pipeline import MotionEventRecord
from tests.broker import MosquittoBroker
from tests.support import wait_until
from tests.uplink.mqtt.peer import Peer

REPO = Path(__file__).resolve().parents[2]
NODE = "doorcam_porch-9"
BASE = "doorcam/v1/device/porch-9"
CAMERA = f"{BASE}/camera"
CAMERA_AVAILABLE = f"{BASE}/camera/available"




def config(tmp_path: Path, port: int, live: Path, **ha: Any) -> Config:
    return Config(store=StoreConfig(path=str(tmp_path / "store")),
                  device=DeviceConfig(id="porch-9"),
                  owner_mqtt=OwnerMqttConfig(enabled=True, port=port),
                  homeassistant=HomeAssistantConfig(enabled=True, **ha),
                  live=LiveConfig(dir=str(live)),
                  doorbell=DoorbellConfig(enabled=True, pin=17, bounce_ms=20,
                                          record_seconds=1.0))


def put_snapshot(path: Path, data: bytes) -> None:
    """As the live publisher renews it: a new file renamed over the old."""
    tmp = path.with_name(".snapshot.jpg.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None, f"not a JPEG: {data[:16]!r}"
    return img


def next_on(peer: Peer, topics: set[str], timeout: float) -> mqtt.MQTTMessage:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"nothing on {sorted(topics)} within {timeout}s"
        with contextlib.suppress(queue.Empty):
            msg = peer.messages.get(timeout=remaining)
            if msg.topic in topics:
                return msg


def press(pins: Any) -> float:
    pin = pins.pin(17)
    at = time.monotonic()
    pin.drive_low()
    pin.drive_high()
    return at


def test_a_ring_sends_the_door_now_to_home_assistant(tmp_path: Path, broker: MosquittoBroker,
                                                     pins: Any, shm: Path) -> None:
    """The whole daemon: a synthetic porch through the motion thread and the live publisher
    (its snapshot on tmpfs), the doorbell and the status side on the home broker."""
    cfg = config(tmp_path, broker.port, shm, camera=True, camera_interval_s=3600)
    cfg = dataclasses.replace(
        cfg, capture=CaptureConfig(source="synthetic:empty?seconds=4&fps=10&size=320x240",
                                   loop=True),
        recording=RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5,
                                  keyframe_interval_seconds=0.5, preset="ultrafast"))
    ha = Peer(broker.port)
    ha.subscribe("homeassistant/#")
    ha.subscribe(f"{BASE}/#")
    stop, reload = threading.Event(), threading.Event()
    try:
        with contextlib.ExitStack() as stack:
            sides = build_sides(cfg, capture=True, pace=4.0, stack=stack)
            supervisor = Supervisor(sides, Notifier())
            supervisor.start(stack)
            doorbell = sides[-1]
            discovered = json.loads(ha.expect(f"homeassistant/camera/{NODE}/camera/config",
                                              timeout=20).payload)
            assert discovered["topic"] == CAMERA
            assert discovered["unique_id"] == f"{NODE}_camera"
            assert discovered["device"]["identifiers"] == [NODE]
            assert discovered["availability_mode"] == "all"
            assert [a["topic"] for a in discovered["availability"]] == [f"{BASE}/status",
                                                                        CAMERA_AVAILABLE]
            assert "availability_topic" not in discovered  # HA refuses both forms at once
            # The live publisher's first snapshot makes the camera available with a picture.
            wait_until(lambda: current_snapshot(cfg).exists(), 30, "the live snapshot")
            first = ha.expect(CAMERA, timeout=20)
            assert decode(first.payload).shape[:2] == (240, 320)
            wait_until(lambda: doorbell._button is not None, 10,  # type: ignore[attr-defined]
                       "the doorbell's pins")
            with contextlib.suppress(queue.Empty):
                while True:
                    ha.messages.get_nowait()
            pressed = press(pins)
            picture = next_on(ha, {CAMERA, f"{BASE}/doorbell"}, timeout=10)
            arrived = time.monotonic() - pressed
            # The interval is an hour: this picture is the ring's, sent before its event.
            assert picture.topic == CAMERA, "the ring's picture comes before the ring event"
            assert not picture.retain
            assert decode(picture.payload).shape[:2] == (240, 320)
            assert picture.payload.startswith(b"\xff\xd8\xff")
            ring = next_on(ha, {CAMERA, f"{BASE}/doorbell"}, timeout=10)
            assert ring.topic == f"{BASE}/doorbell"
            assert json.loads(ring.payload)["event_type"] == "ring"
            print(f"ring to camera picture on the broker: {arrived * 1000:.0f} ms")
            assert arrived < 2.0, f"the ring's picture took {arrived:.2f}s"
            # Home Assistant restarts: discovery again, then a picture within seconds (none
            # is retained for it, and the interval is an hour).
            ha.publish("homeassistant/status", b"online")
            ha.expect(f"homeassistant/camera/{NODE}/camera/config", timeout=10)
            again = ha.expect(CAMERA, timeout=10)
            assert decode(again.payload).shape[:2] == (240, 320)
            stop.set()
            assert supervisor.run(stop, reload) is False
        # Nothing retained holds a picture: Home Assistant subscribing later gets none.
        late = Peer(broker.port)
        late.subscribe(CAMERA)
        late.subscribe("test/marker")
        late.publish("test/marker", b"x")
        assert late.messages.get(timeout=10).topic == "test/marker", "a retained picture"
        late.close()
    finally:
        ha.close()


def test_a_stale_snapshot_is_not_sent_and_the_camera_goes_unavailable(
        tmp_path: Path, broker: MosquittoBroker, pins: Any) -> None:
    """No camera thread here: the test writes the snapshot file as the live publisher does."""
    live = tmp_path / "live"
    live.mkdir()
    cfg = config(tmp_path, broker.port, live, camera=True, camera_interval_s=3600)
    snap = current_snapshot(cfg)
    ok, buf = cv2.imencode(".jpg", np.full((120, 160, 3), 200, np.uint8))
    assert ok
    ha = Peer(broker.port)
    ha.subscribe(f"{BASE}/#")
    stop, reload = threading.Event(), threading.Event()
    try:
        with contextlib.ExitStack() as stack:
            sides = build_sides(cfg, capture=False, pace=None, stack=stack)
            supervisor = Supervisor(sides, Notifier())
            supervisor.start(stack)
            doorbell = sides[-1]
            # No snapshot yet: unavailable.
            assert ha.expect(CAMERA_AVAILABLE, timeout=20).payload == b"offline"
            snap.write_bytes(buf.tobytes())
            picture = next_on(ha, {CAMERA, CAMERA_AVAILABLE}, timeout=10)
            if picture.topic == CAMERA_AVAILABLE:
                assert picture.payload == b"online"
                picture = ha.expect(CAMERA, timeout=10)
            assert decode(picture.payload).shape[:2] == (120, 160)
            # A person found while the event goes on (the people stage's answer, on the motion
            # thread): the door's picture, then the person sensor ON.
            status = sides[0]
            assert isinstance(status, StatusSide)
            put_snapshot(snap, buf.tobytes())  # a new picture since the last one sent
            status.person_seen(MotionEventRecord(id=1, start_frame=0, start=0.0,
                                                 labels=["motion", "person"]))
            seen = next_on(ha, {CAMERA, f"{BASE}/person"}, timeout=10)
            assert seen.topic == CAMERA, "the person's picture comes before the sensor"
            assert next_on(ha, {CAMERA, f"{BASE}/person"}, timeout=10).payload == b"ON"
            old = time.time() - 30
            os.utime(snap, (old, old))  # the camera stopped renewing it
            assert ha.expect(CAMERA_AVAILABLE, timeout=10).payload == b"offline"
            wait_until(lambda: doorbell._button is not None, 10,  # type: ignore[attr-defined]
                       "the doorbell's pins")
            press(pins)
            assert next_on(ha, {CAMERA, f"{BASE}/doorbell"}, timeout=10).topic \
                == f"{BASE}/doorbell", "a picture of the past was sent for the ring"
            stop.set()
            assert supervisor.run(stop, reload) is False
        later: list[tuple[str, bytes]] = []
        while True:
            msg = ha.messages.get(timeout=10)
            if msg.topic == f"{BASE}/status" and msg.payload == b"stopped":
                break
            later.append((msg.topic, msg.payload))
        assert CAMERA not in [t for t, _ in later]
        # Stopping says so on the camera's own topic too (it is already offline here, as the
        # snapshot is stale: said again, not left to the daemon's status alone).
        assert (CAMERA_AVAILABLE, b"offline") in later, later
    finally:
        ha.close()


def test_no_camera_without_live_view(tmp_path: Path, broker: MosquittoBroker) -> None:
    cfg = config(tmp_path, broker.port, tmp_path / "live", camera=True)
    cfg = dataclasses.replace(cfg, live=LiveConfig(enabled=False), doorbell=DoorbellConfig())
    ha = Peer(broker.port)
    ha.subscribe("homeassistant/#")
    ha.subscribe(f"{BASE}/#")
    topics: list[str] = []
    try:
        with contextlib.ExitStack() as stack:
            sides = build_sides(cfg, capture=False, pace=None, stack=stack)
            Supervisor(sides, Notifier()).start(stack)
            while f"{BASE}/stats" not in topics:  # the status thread has ticked
                topics.append(ha.messages.get(timeout=20).topic)
        while True:
            msg = ha.messages.get(timeout=10)
            topics.append(msg.topic)
            if msg.topic == f"{BASE}/status" and msg.payload == b"stopped":
                break
        assert f"homeassistant/binary_sensor/{NODE}/motion/config" in topics
        assert not any("camera" in t for t in topics), topics
    finally:
        ha.close()


def test_motion_start_sends_a_picture_at_once_from_the_running_daemon(
        tmp_path: Path, broker: MosquittoBroker, shm: Path) -> None:
    """`doorcam run` on a porch someone walks onto: the picture comes just before motion ON."""
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f"""
[capture]
source = "synthetic:porch?size=320x240"
loop = true
[store]
path = "{tmp_path / 'store'}"
[live]
dir = "{shm}"
[device]
id = "porch-9"
[owner_mqtt]
enabled = true
port = {broker.port}
[homeassistant]
enabled = true
camera = true
camera_interval_s = 3600
""", encoding="utf-8")
    ha = Peer(broker.port)
    ha.subscribe(f"{BASE}/#")
    daemon = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                               "--speed", "3"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        seq: list[tuple[str, bytes, float]] = []
        while not seq or seq[-1][:2] != (f"{BASE}/motion", b"ON"):
            msg = next_on(ha, {CAMERA, f"{BASE}/motion"}, timeout=60)
            seq.append((msg.topic, msg.payload if msg.topic != CAMERA else b"",
                        time.monotonic()))
            if msg.topic == CAMERA:
                assert decode(msg.payload).shape[:2] == (240, 320)
        topics = [t for t, _, _ in seq]
        assert seq[0][:2] == (f"{BASE}/motion", b"OFF"), "idle at start"
        # The interval is an hour: a picture just before motion ON is the motion start's own
        # (sent on the motion thread right before ON; one from the start would be seconds
        # earlier, and the start's trigger sends its own picture even if the timer just did).
        assert topics[-2] == CAMERA, f"no picture at the motion start: {topics}"
        gap = seq[-1][2] - seq[-2][2]
        assert gap < 0.25, f"the picture came {gap:.2f}s before motion ON: not the start's"
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
        assert daemon.returncode == 0, err
    finally:
        if daemon.poll() is None:
            daemon.kill()
        ha.close()
