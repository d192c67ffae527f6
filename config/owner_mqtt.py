"""The [owner_mqtt] config section: the home's own broker (e.g. Home Assistant's), which
carries the owner channel and Home Assistant status, never the agency broker."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from config.broker import BrokerConnection
from config.fields import setting
from config.mqtt import MqttConfig, _no_wildcards


def _optional_topic(value: Any) -> str | None:
    return None if value == "" else _no_wildcards(value)


@dataclass(frozen=True)
class OwnerMqttConfig(BrokerConnection):
    """The home broker: the owner's sealed view and decisions, Home Assistant status."""

    enabled: bool = setting(
        False, "Connect to the home broker. Off: no remote owner channel and no Home "
        "Assistant (neither ever goes to the agency broker of [mqtt]).", restart=True)
    client_id: str = setting(
        "", "MQTT client id; empty = 'doorcam-<device id>-home'.", restart=True)
    password_env: str = setting(
        "", "Environment variable holding the password instead (e.g. from a systemd "
        "credential); used when password is empty.", restart=True)
    max_packet_kb: int = setting(
        1024, "Largest MQTT packet accepted (the owner's view carries each pending "
        "request's signed document).", min=1, max=256 * 1024, restart=True)
    topic_prefix: str = setting("doorcam/v1", "First levels of every topic on this broker.",
                                check=_no_wildcards, restart=True)
    owner_topic: str = setting(
        "", "Base of the owner topics (view, audit head, decisions); empty = "
        "'<topic_prefix>/owner/<device id>'.", check=_optional_topic, restart=True)

    def link_config(self, device_id: str) -> MqttConfig:
        """The connection settings as the MQTT link takes them."""
        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(BrokerConnection)}
        shared.update(
            client_id=self.effective_client_id(device_id),
            password=self.password or (os.environ.get(self.password_env, "")
                                       if self.password_env else ""))
        return MqttConfig(**shared, max_packet_kb=self.max_packet_kb,
                          topic_prefix=self.topic_prefix)

    def effective_client_id(self, device_id: str) -> str:
        return self.client_id or f"doorcam-{device_id}-home"

    def effective_owner_topic(self, device_id: str) -> str:
        return self.owner_topic or f"{self.topic_prefix}/owner/{device_id}"
