"""The device's MQTT link: a persistent MQTT v5 session carrying agency requests as bytes."""

from uplink.mqtt.client import OFFLINE, ONLINE, STOPPED, MqttLink
from uplink.mqtt.messages import Incoming, Link, LinkStatus, MessageSource, Publisher

__all__ = [
    "OFFLINE",
    "ONLINE",
    "STOPPED",
    "Incoming",
    "Link",
    "LinkStatus",
    "MessageSource",
    "MqttLink",
    "Publisher",
]
