"""Test helpers: an independent paho client standing in for agencies and observers."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from config.mqtt import MqttConfig

TIMEOUT_S = 10.0


def link_config(port: int, **overrides: Any) -> MqttConfig:
    """A config for the link under test: fast reconnects, short keepalive."""
    values: dict[str, Any] = {"host": "127.0.0.1", "port": port, "keepalive_s": 5,
                              "reconnect_min_s": 1, "reconnect_max_s": 2}
    values.update(overrides)
    return MqttConfig(**values)


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT_S,
               what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class Peer:
    """A plain MQTT v5 client (clean session, no size limit) that records what it receives."""

    def __init__(self, port: int, client_id: str = "") -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._acked = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = lambda c, u, msg: self.messages.put(msg)
        self.client.on_subscribe = lambda *a: self._acked.set()
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        wait_until(self.client.is_connected, what="peer connected")

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe and wait for the SUBACK, so nothing published afterwards is missed."""
        self._acked.clear()
        self.client.subscribe(topic, qos)
        assert self._acked.wait(TIMEOUT_S), f"no SUBACK for {topic}"

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish and wait until the broker has it (PUBACK for QoS 1)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(TIMEOUT_S)
        assert info.is_published(), f"publish to {topic} not acknowledged"

    def expect(self, topic: str, timeout: float = TIMEOUT_S) -> mqtt.MQTTMessage:
        """The next message on `topic` (messages on other topics are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no message on {topic} within {timeout}s")
            try:
                msg = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if msg.topic == topic:
                return msg

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
