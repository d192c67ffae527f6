"""Home Assistant's person sensor: its discovery payload, and the daemon on real footage
announcing the person at the door over a real broker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from config.homeassistant import HomeAssistantConfig
from config.mqtt import MqttConfig
from device.daemon.homeassistant import HomeAssistant
from tests.broker import MosquittoBroker
from tests.uplink.mqtt.peer import Peer

REPO = Path(__file__).resolve().parents[2]
NODE = "doorcam_porch-7"


class Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.messages.append((topic, payload, retain))


def discovery(people: bool) -> dict[str, dict[str, Any]]:
    ha = HomeAssistant(HomeAssistantConfig(enabled=True), MqttConfig(), "porch-7", Sent(),
                       people=people)
    return {topic: config for topic, config in ha.discovery()}


def test_the_person_sensor_is_announced_with_the_people_stage() -> None:
    topic = f"homeassistant/binary_sensor/{NODE}/person/config"
    person = discovery(True)[topic]
    assert person["state_topic"] == "doorcam/v1/device/porch-7/person"
    assert person["device_class"] == "occupancy"
    assert (person["payload_on"], person["payload_off"]) == ("ON", "OFF")
    assert person["unique_id"] == f"{NODE}_person"
    assert person["availability_topic"] == "doorcam/v1/device/porch-7/status"
    assert person["device"]["identifiers"] == [NODE]
    assert topic not in discovery(False)


def test_the_daemon_announces_a_person_on_real_footage(tmp_path: Path, test_data: Path,
                                                       broker: MosquittoBroker) -> None:
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f"""
[capture]
source = "{test_data / 'wavingtrees' / 'input'}"
[store]
path = "{tmp_path / 'store'}"
[device]
id = "porch-7"
[owner_mqtt]
enabled = true
port = {broker.port}
[homeassistant]
enabled = true
[people]
# One sighting: paced at twice real time on a busy machine, the confirming check may come
# after the person turned away.
min_hits = 1
""", encoding="utf-8")
    ha = Peer(broker.port)
    ha.subscribe("homeassistant/#")
    ha.subscribe("doorcam/v1/device/porch-7/#")
    daemon = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                               "--speed", "2"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        ha.expect(f"homeassistant/binary_sensor/{NODE}/person/config", timeout=30)
        assert ha.expect("doorcam/v1/device/porch-7/person", timeout=30).payload == b"OFF"
        states, event = [], None
        while event is None:
            msg = ha.messages.get(timeout=60)
            if msg.topic.endswith("/person"):
                states.append(msg.payload)
            elif msg.topic.endswith("/event"):
                event = json.loads(msg.payload)
        assert states == [b"ON", b"OFF"]  # on while the person is there, off with the event
        assert event["labels"] == ["motion", "person"]
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
        assert daemon.returncode == 0, err
        assert "person seen in motion event 1" in err
        assert "labels motion,person" in err
    finally:
        if daemon.poll() is None:
            daemon.kill()
        ha.close()
