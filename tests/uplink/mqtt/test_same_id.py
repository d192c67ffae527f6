"""Two devices with the same id on one broker, and a broker that cannot be reached: one clear
line naming the id and the broker, and a slow alternation instead of a reconnect storm."""

from __future__ import annotations

import logging
import time

import pytest

from tests.broker import MosquittoBroker, free_port
from tests.uplink.mqtt.peer import link_config, wait_until
from uplink.mqtt import MqttLink

MAX_S = 4


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "uplink.mqtt.client" and r.levelno == level]


def test_same_device_id_is_named_once_and_the_links_back_off(
        broker: MosquittoBroker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uplink.mqtt")
    cfg = link_config(broker.port, reconnect_min_s=1, reconnect_max_s=MAX_S)
    first, second = MqttLink(cfg, "porch"), MqttLink(cfg, "porch")
    try:
        first.start()
        wait_until(lambda: first.connected, what="the first device connected")
        second.start()
        line = (f"another device uses the id porch on broker 127.0.0.1:{broker.port}; "
                "give each device its own [device] id")
        wait_until(lambda: line in _messages(caplog, logging.ERROR), timeout=30,
                   what="the same-id error line")
        detected = time.monotonic()
        # The take-over's own connection may be counted a moment after the line (the other
        # link's network thread): count from when one of them holds the id.
        wait_until(lambda: first.connected or second.connected, what="one link holding the id")
        connects = first.status().reconnects + second.status().reconnects
        # Backed off: the next take-over comes only after the longest reconnect wait.
        wait_until(lambda: first.status().reconnects + second.status().reconnects > connects,
                   timeout=3 * MAX_S, what="the next reconnect")
        assert time.monotonic() - detected >= MAX_S - 1.5
        errors = _messages(caplog, logging.ERROR)
        assert errors.count(line) <= 2, errors  # one per device, not one per reconnect
        assert not any(e != line for e in errors), errors
        assert line in (first.status().last_error, second.status().last_error)
    finally:
        first.close()
        second.close()


def test_distinct_ids_on_one_broker_stay_connected(
        broker: MosquittoBroker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uplink.mqtt")
    cfg = link_config(broker.port)
    a, b = MqttLink(cfg, "porch-a"), MqttLink(cfg, "porch-b")
    try:
        a.start()
        b.start()
        wait_until(lambda: a.ready and b.ready, what="both links ready")
        assert a.status().reconnects == b.status().reconnects == 0
        assert not _messages(caplog, logging.ERROR)
    finally:
        a.close()
        b.close()


def test_unreachable_broker_is_named_with_host_and_port(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="uplink.mqtt")
    port = free_port()  # nothing listens there
    link = MqttLink(link_config(port), "porch")
    try:
        link.start()
        wait_until(lambda: link.status().last_error != "", what="a failed connect")
        wait_until(lambda: any(f"127.0.0.1:{port}" in m
                               for m in _messages(caplog, logging.WARNING)),
                   what="the unreachable line")
        warned = [m for m in _messages(caplog, logging.WARNING) if "cannot reach" in m]
        assert warned == [f"cannot reach the MQTT broker at 127.0.0.1:{port} (no answer, "
                          "refused or name not found); retrying every 1-2 s: check [mqtt] "
                          "host and port and that the broker runs"]
        assert not any("Client is not connected" in r.getMessage() for r in caplog.records)
    finally:
        link.close()


def test_unreachable_broker_names_where_its_address_was_given(
        caplog: pytest.LogCaptureFixture) -> None:
    """The home broker's link (and the command-line tools') say which settings to check."""
    caplog.set_level(logging.DEBUG, logger="uplink.mqtt")
    port = free_port()
    link = MqttLink(link_config(port), "porch", settings="[owner_mqtt] host and port")
    try:
        link.start()
        wait_until(lambda: any("cannot reach" in m for m in _messages(caplog, logging.WARNING)),
                   what="the unreachable line")
        [warned] = [m for m in _messages(caplog, logging.WARNING) if "cannot reach" in m]
        assert warned.endswith("check [owner_mqtt] host and port and that the broker runs")
    finally:
        link.close()
