"""Status on the home broker ([owner_mqtt], never the agency one) with Home Assistant MQTT
discovery: motion, a person at the door, last event (with its labels), stats, the doorbell's
rings, and optionally a snapshot and a camera.

Nothing here carries footage unless the owner turned it on: `homeassistant.snapshots` (a small
JPEG per event) or `homeassistant.camera` (the live view's current snapshot, never retained).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from config.homeassistant import HomeAssistantConfig
from config.mqtt import MqttConfig


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1,
                retain: bool = False) -> None: ...


class HomeAssistant:
    """Discovery configs and states; `handle` republishes discovery when HA restarts."""

    def __init__(self, cfg: HomeAssistantConfig, mqtt: MqttConfig, device_id: str,
                 link: Publisher, *, doorbell: bool = False, people: bool = False,
                 camera: bool = False) -> None:
        self.cfg = cfg
        self.camera = camera  # the live view runs and the owner turned the camera on
        self.doorbell = doorbell  # a [doorbell] button: announce its event entity
        self.people = people  # the people stage runs: announce the person sensor
        self.device_id = device_id
        self.link = link
        self.availability = mqtt.status_topic(device_id)
        base = f"{mqtt.topic_prefix}/device/{device_id}"
        self.topics = {name: f"{base}/{name}" for name in ("motion", "person", "event",
                                                           "stats", "snapshot", "doorbell",
                                                           "camera", "camera/available")}
        self.ha_status_topic = f"{cfg.discovery_prefix}/status"
        self.on_birth: Callable[[], None] | None = None  # after the discovery, on HA's restart

    def _entity(self, component: str, key: str, name: str,
                **extra: Any) -> tuple[str, dict[str, Any]]:
        node = f"doorcam_{self.device_id}"
        config = {
            "name": name, "unique_id": f"{node}_{key}", "object_id": f"{node}_{key}",
            "device": self._device(),
            "availability_topic": self.availability, "payload_available": "online",
            "payload_not_available": "offline",
            # `stopped` (a clean exit) must read as unavailable too, not be ignored.
            "availability_template": "{{ 'online' if value == 'online' else 'offline' }}",
            **extra,
        }
        return f"{self.cfg.discovery_prefix}/{component}/{node}/{key}/config", config

    def _device(self) -> dict[str, Any]:
        node = f"doorcam_{self.device_id}"
        return {"identifiers": [node], "name": f"doorcam {self.device_id}",
                "manufacturer": "doorcam", "model": "doorbell camera"}

    def discovery(self) -> list[tuple[str, dict[str, Any]]]:
        t = self.topics
        entities = [
            self._entity("binary_sensor", "motion", "Motion", state_topic=t["motion"],
                         payload_on="ON", payload_off="OFF", device_class="motion"),
            # Its `kind` attribute says what it was: "ring" (a clip the doorbell started) or
            # "motion".
            self._entity("sensor", "last_event", "Last event", state_topic=t["event"],
                         value_template="{{ value_json.start }}", device_class="timestamp",
                         json_attributes_topic=t["event"]),
            self._entity("sensor", "pending_requests", "Pending agency requests",
                         state_topic=t["stats"], value_template="{{ value_json.pending }}",
                         state_class="measurement"),
            self._entity("sensor", "free_storage", "Free storage", state_topic=t["stats"],
                         value_template="{{ value_json.free_mb }}", unit_of_measurement="MB",
                         device_class="data_size", state_class="measurement"),
            # A problem while no network time has set the clock: clips are then not evidence.
            self._entity("binary_sensor", "clock_unsynced", "Clock not synchronised",
                         state_topic=t["stats"], device_class="problem",
                         value_template="{{ 'OFF' if value_json.get('clock_synced', true) "
                         "else 'ON' }}"),
            # The agency registry or one of its keys expires soon (how many warnings; the journal
            # and the STATUS line say which).
            self._entity("binary_sensor", "registry_expiring", "Agency registry expiring",
                         state_topic=t["stats"], device_class="problem",
                         value_template="{{ 'ON' if value_json.get('registry_warnings', 0) "
                         "> 0 else 'OFF' }}"),
        ]
        if self.people:
            # On while the current motion event has a person in it (the people stage's
            # `person` label), off when the event ends.
            entities.append(self._entity("binary_sensor", "person", "Person",
                                         state_topic=t["person"], payload_on="ON",
                                         payload_off="OFF", device_class="occupancy"))
        if self.doorbell:
            # Home Assistant's `event` platform: each message is one press, never retained
            # (a retained one would ring again whenever Home Assistant reconnects).
            entities.append(self._entity("event", "doorbell", "Doorbell", state_topic=t["doorbell"],
                                         device_class="doorbell", event_types=["ring"]))
            # The same press as a device trigger ("doorbell" pressed), for automations made
            # from the device's page; a device trigger takes no entity keys.
            node = f"doorcam_{self.device_id}"
            entities.append((
                f"{self.cfg.discovery_prefix}/device_automation/{node}/ring/config",
                {"automation_type": "trigger", "topic": t["doorbell"],
                 "type": "button_short_press", "subtype": "doorbell",
                 "value_template": "{{ value_json.event_type }}", "payload": "ring",
                 "qos": 1, "device": self._device()}))
        if self.cfg.snapshots:
            entities.append(self._entity("image", "snapshot", "Last event snapshot",
                                         image_topic=t["snapshot"], content_type="image/jpeg"))
        if self.camera:
            topic, config = self._entity("camera", "camera", "Door", topic=t["camera"])
            # Available only while the daemon is and its snapshot is fresh (both topics).
            device = {"topic": config.pop("availability_topic"),
                      "value_template": config.pop("availability_template")}
            config.pop("payload_available"), config.pop("payload_not_available")
            config["availability"] = [device, {"topic": t["camera/available"]}]
            config["availability_mode"] = "all"
            entities.append((topic, config))
        return entities

    def republish(self) -> None:
        for topic, config in self.discovery():
            self.link.publish(topic, json.dumps(config).encode(), qos=1, retain=True)

    def motion(self, active: bool) -> None:
        self.link.publish(self.topics["motion"], b"ON" if active else b"OFF", retain=True)

    def person(self, present: bool) -> None:
        self.link.publish(self.topics["person"], b"ON" if present else b"OFF", retain=True)

    def event(self, info: dict[str, Any]) -> None:
        self.link.publish(self.topics["event"], json.dumps(info).encode(), retain=True)

    def ring(self, at: str) -> None:
        """One press; `at` (ISO 8601 UTC) becomes the event's attribute in Home Assistant."""
        self.link.publish(self.topics["doorbell"],
                          json.dumps({"event_type": "ring", "at": at}).encode(), retain=False)

    def snapshot(self, jpeg: bytes) -> None:
        """The event's peak frame, only when the owner turned snapshots on."""
        if self.cfg.snapshots:
            self.link.publish(self.topics["snapshot"], jpeg, retain=True)

    def camera_image(self, jpeg: bytes) -> None:
        """The door now: not retained, so the broker keeps no picture once it is old (the
        next one comes within `camera_interval_s`)."""
        if self.camera:
            self.link.publish(self.topics["camera"], jpeg, qos=0, retain=False)

    def camera_available(self, available: bool) -> None:
        # Retained (a word, no picture): Home Assistant subscribing later learns the state.
        if self.camera:
            self.link.publish(self.topics["camera/available"],
                              b"online" if available else b"offline", retain=True)

    def stats(self, stats: dict[str, Any]) -> None:
        self.link.publish(self.topics["stats"], json.dumps(stats).encode(), retain=True)

    def handle(self, topic: str, payload: bytes) -> bool:
        """True if the message was Home Assistant's own status (its birth message)."""
        if topic != self.ha_status_topic:
            return False
        if payload.strip() == b"online":
            self.republish()
            if self.on_birth is not None:
                self.on_birth()
        return True
