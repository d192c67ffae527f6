"""Status on the home broker ([owner_mqtt], never the agency one) with Home Assistant MQTT
discovery: motion, a person at the door, last event (with its labels), stats, the doorbell's
rings, and optionally a snapshot.

Nothing here carries footage unless `homeassistant.snapshots` is on (a small JPEG per event).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from config.homeassistant import HomeAssistantConfig
from config.mqtt import MqttConfig


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1,
                retain: bool = False) -> None: ...


class HomeAssistant:
    """Discovery configs and states; `handle` republishes discovery when HA restarts."""

    def __init__(self, cfg: HomeAssistantConfig, mqtt: MqttConfig, device_id: str,
                 link: Publisher, *, doorbell: bool = False, people: bool = False) -> None:
        self.cfg = cfg
        self.doorbell = doorbell  # a [doorbell] button: announce its event entity
        self.people = people  # the people stage runs: announce the person sensor
        self.device_id = device_id
        self.link = link
        self.availability = mqtt.status_topic(device_id)
        base = f"{mqtt.topic_prefix}/device/{device_id}"
        self.topics = {name: f"{base}/{name}" for name in ("motion", "person", "event",
                                                           "stats", "snapshot", "doorbell")}
        self.ha_status_topic = f"{cfg.discovery_prefix}/status"

    def _entity(self, component: str, key: str, name: str,
                **extra: Any) -> tuple[str, dict[str, Any]]:
        node = f"doorcam_{self.device_id}"
        config = {
            "name": name, "unique_id": f"{node}_{key}", "object_id": f"{node}_{key}",
            "device": {"identifiers": [node], "name": f"doorcam {self.device_id}",
                       "manufacturer": "doorcam", "model": "doorbell camera"},
            "availability_topic": self.availability, "payload_available": "online",
            "payload_not_available": "offline",
            # `stopped` (a clean exit) must read as unavailable too, not be ignored.
            "availability_template": "{{ 'online' if value == 'online' else 'offline' }}",
            **extra,
        }
        return f"{self.cfg.discovery_prefix}/{component}/{node}/{key}/config", config

    def discovery(self) -> list[tuple[str, dict[str, Any]]]:
        t = self.topics
        entities = [
            self._entity("binary_sensor", "motion", "Motion", state_topic=t["motion"],
                         payload_on="ON", payload_off="OFF", device_class="motion"),
            self._entity("sensor", "last_event", "Last motion event", state_topic=t["event"],
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
        if self.cfg.snapshots:
            entities.append(self._entity("image", "snapshot", "Last event snapshot",
                                         image_topic=t["snapshot"], content_type="image/jpeg"))
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

    def ring(self) -> None:
        self.link.publish(self.topics["doorbell"], json.dumps({"event_type": "ring"}).encode(),
                          retain=False)

    def snapshot(self, jpeg: bytes) -> None:
        """The event's peak frame, only when the owner turned snapshots on."""
        if self.cfg.snapshots:
            self.link.publish(self.topics["snapshot"], jpeg, retain=True)

    def stats(self, stats: dict[str, Any]) -> None:
        self.link.publish(self.topics["stats"], json.dumps(stats).encode(), retain=True)

    def handle(self, topic: str, payload: bytes) -> bool:
        """True if the message was Home Assistant's own status (its birth message)."""
        if topic != self.ha_status_topic:
            return False
        if payload.strip() == b"online":
            self.republish()
        return True
