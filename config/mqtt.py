"""The [mqtt] config section: how the device reaches the broker that carries agency requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from config.broker import BrokerConnection
from config.fields import setting

SEVEN_DAYS_S = 7 * 24 * 3600


def _no_wildcards(value: Any) -> str | None:
    """Topics we build from this must not contain MQTT wildcards or empty levels."""
    if not isinstance(value, str) or any(c in value for c in "+#\0") or "//" in value:
        return "a topic without '+', '#', NUL or empty levels"
    if value.startswith("/") or value.endswith("/"):
        return "a topic that neither starts nor ends with '/'"
    return None


def topic_prefix_problem(value: Any) -> str | None:
    """Why `value` cannot be a topic prefix (None: it can), for tools taking one as an option."""
    return _no_wildcards(value)


@dataclass(frozen=True)
class MqttConfig(BrokerConnection):
    """The MQTT link: broker address, credentials, session and topic layout."""

    # Keys this section no longer has: a file still setting one starts, with a warning.
    RETIRED: ClassVar[dict[str, str]] = {
        "owner_topic": "the owner's channel is on the home broker now: use [owner_mqtt] "
                       "(its owner_topic)",
    }

    client_id: str = setting(
        "", "MQTT client id; empty = 'doorcam-<device id>'. It names the persistent "
        "session on the broker, so it must stay the same across restarts.", restart=True)
    reconnect_min_s: int = setting(1, "First wait before reconnecting; it doubles each "
                                   "failed attempt.", min=1, max=600, restart=True)
    reconnect_max_s: int = setting(60, "Longest wait between reconnect attempts.",
                                   min=1, max=3600, restart=True)
    max_packet_kb: int = setting(
        64, "Largest MQTT packet the device accepts, announced to the broker in CONNECT "
        "(MQTT v5 Maximum Packet Size); larger messages are dropped and counted.",
        min=1, max=256 * 1024, restart=True)
    session_expiry_s: int = setting(
        SEVEN_DAYS_S, "How long the broker keeps the device's session (subscriptions and "
        "unacknowledged QoS 1 messages) while it is offline.",
        min=0, max=0xFFFFFFFF, restart=True)
    topic_prefix: str = setting("doorcam/v1", "First levels of every topic the device uses.",
                                check=_no_wildcards, restart=True)
    queue_size: int = setting(
        256, "Incoming messages held for the consumer, and outgoing ones held while "
        "offline; beyond this they are dropped and counted.", min=1, max=100_000)

    def effective_client_id(self, device_id: str) -> str:
        return self.client_id or f"doorcam-{device_id}"

    def status_topic(self, device_id: str) -> str:
        """Availability topic: retained 'online', 'offline' (last will) or 'stopped'."""
        return f"{self.topic_prefix}/device/{device_id}/status"

    def requests_topic_base(self) -> str:
        """Agency requests arrive on `<this>/<geohash5>` (docs/protocol.md, "Topics")."""
        return f"{self.topic_prefix}/requests"


def check_device_id(device_id: str) -> None:
    """Raise ValueError unless `device_id` is usable as one topic level."""
    if not device_id or any(c in device_id for c in "/+#\0") or len(device_id) > 64:
        raise ValueError(f"device id {device_id[:80]!r} must be 1-64 characters "
                         "without '/', '+', '#' or NUL")

