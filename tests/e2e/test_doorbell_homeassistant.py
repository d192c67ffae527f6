"""The doorbell in Home Assistant: the `event` entity's discovery on a real mosquitto, and a
press on gpiozero's mock pins arriving as one `ring` event, never retained."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from pathlib import Path
from typing import Any

import jinja2

from config import Config, StoreConfig
from config.doorbell import DoorbellConfig
from config.homeassistant import HomeAssistantConfig
from config.owner_mqtt import OwnerMqttConfig
from config.uplink import DeviceConfig
from device.daemon.notify import Notifier
from device.daemon.supervisor import Supervisor, build_sides
from tests.broker import MosquittoBroker
from tests.support import wait_until
from tests.uplink.mqtt.peer import Peer

NODE = "doorcam_porch-9"

BASE = "doorcam/v1/device/porch-9"


def test_discovery_and_a_press_as_a_doorbell_event(tmp_path: Path, broker: MosquittoBroker,
                                                   pins: Any) -> None:
    cfg = Config(store=StoreConfig(path=str(tmp_path / "store")),
                 device=DeviceConfig(id="porch-9"),
                 owner_mqtt=OwnerMqttConfig(enabled=True, port=broker.port),
                 homeassistant=HomeAssistantConfig(enabled=True),
                 doorbell=DoorbellConfig(enabled=True, pin=17, bounce_ms=20))
    ha = Peer(broker.port)
    ha.subscribe("homeassistant/#")
    ha.subscribe(f"{BASE}/#")
    stop, reload = threading.Event(), threading.Event()
    try:
        with contextlib.ExitStack() as stack:
            sides = build_sides(cfg, capture=False, pace=None, stack=stack)
            supervisor = Supervisor(sides, Notifier())
            supervisor.start(stack)
            _, doorbell = sides
            config = json.loads(ha.expect(
                f"homeassistant/event/{NODE}/doorbell/config", timeout=20).payload)
            assert config["device_class"] == "doorbell" and config["event_types"] == ["ring"]
            assert config["state_topic"] == f"{BASE}/doorbell"
            assert config["unique_id"] == f"{NODE}_doorbell"
            assert config["device"]["identifiers"] == [NODE]
            assert config["availability_topic"] == f"{BASE}/status"
            # And as a device trigger, matching the event's own payload.
            trigger = json.loads(ha.expect(
                f"homeassistant/device_automation/{NODE}/ring/config", timeout=20).payload)
            assert trigger["automation_type"] == "trigger"
            assert trigger["topic"] == f"{BASE}/doorbell"
            assert (trigger["type"], trigger["subtype"]) == ("button_short_press", "doorbell")
            assert trigger["device"]["identifiers"] == [NODE]
            assert trigger["payload"] == "ring"
            assert trigger["value_template"] == "{{ value_json.event_type }}"
            assert "unique_id" not in trigger and "availability_topic" not in trigger
            stats = json.loads(ha.expect(f"{BASE}/stats", timeout=20).payload)
            assert stats["rings"] == 0

            wait_until(lambda: doorbell._button is not None, 10,  # type: ignore[attr-defined]
                       "the doorbell's pins")
            pin = pins.pin(17)
            pin.drive_low()
            pin.drive_high()
            pin.drive_low()  # a bounce: still one ring
            pin.drive_high()
            ring = ha.expect(f"{BASE}/doorbell", timeout=10)
            payload = json.loads(ring.payload)
            assert payload.keys() == {"event_type", "at"} and payload["event_type"] == "ring"
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", payload["at"])
            # Home Assistant renders the trigger's template (Jinja) over the payload and
            # fires when it equals `payload`.
            rendered = jinja2.Template(trigger["value_template"]).render(
                value_json=payload)
            assert rendered == trigger["payload"]
            assert not ring.retain
            stop.set()
            assert supervisor.run(stop, reload) is False
        # Stopped: the link published `stopped` last, so every ring sent is in by now.
        later = []
        while True:
            msg = ha.messages.get(timeout=10)
            if msg.topic == f"{BASE}/status" and msg.payload == b"stopped":
                break
            later.append(msg.topic)
        assert f"{BASE}/doorbell" not in later, "one press (with its bounce) is one event"
        # Home Assistant subscribing later must not see an old ring again: the broker sends
        # retained messages on subscription, before the marker published after it.
        late = Peer(broker.port)
        late.subscribe(f"{BASE}/doorbell")
        late.subscribe("test/marker")
        late.publish("test/marker", b"x")
        assert late.messages.get(timeout=10).topic == "test/marker", "a retained ring"
        late.close()
    finally:
        ha.close()


def test_a_ring_clip_is_home_assistants_last_event_of_kind_ring(
        tmp_path: Path, broker: MosquittoBroker, pins: Any) -> None:
    """Capture on an empty porch and the doorbell: the press records a clip, which Home
    Assistant's "Last event" sensor then shows with kind "ring" and that clip's id."""
    from config import CaptureConfig, RecordingConfig
    from device.store.view import ClipView

    cfg = Config(
        capture=CaptureConfig(source="synthetic:empty?seconds=4&fps=10&size=320x240",
                              loop=True),
        recording=RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5,
                                  keyframe_interval_seconds=0.5, preset="ultrafast"),
        store=StoreConfig(path=str(tmp_path / "store")), device=DeviceConfig(id="porch-9"),
        owner_mqtt=OwnerMqttConfig(enabled=True, port=broker.port),
        homeassistant=HomeAssistantConfig(enabled=True),
        doorbell=DoorbellConfig(enabled=True, pin=17, record_seconds=1.0))
    ha = Peer(broker.port)
    ha.subscribe(f"{BASE}/event")
    stop, reload = threading.Event(), threading.Event()
    try:
        with contextlib.ExitStack() as stack:
            sides = build_sides(cfg, capture=True, pace=4.0, stack=stack)
            supervisor = Supervisor(sides, Notifier())
            supervisor.start(stack)
            capture = next(s for s in sides if hasattr(s, "_loop"))
            doorbell = next(s for s in sides if hasattr(s, "_button"))
            wait_until(lambda: doorbell._button is not None, 10,  # type: ignore[attr-defined]
                       "the doorbell's pins")
            wait_until(lambda: capture._loop is not None  # type: ignore[attr-defined]
                       and capture._loop.frames > 20, 30,  # type: ignore[attr-defined]
                       "frames through the motion thread")
            pins.pin(17).drive_low()
            pins.pin(17).drive_high()
            event = json.loads(ha.expect(f"{BASE}/event", timeout=60).payload)
            stop.set()
            assert supervisor.run(stop, reload) is False
        with ClipView(tmp_path / "store") as view:
            [clip] = view.list()
        assert clip.trigger == "ring"
        assert event["kind"] == "ring" and event["clips"] == [clip.id]
        assert event["start"].endswith("Z") and event["end"] >= event["start"]
    finally:
        ha.close()
