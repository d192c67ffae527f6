"""Status over MQTT with Home Assistant discovery, against a real broker and the daemon."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broker import MosquittoBroker
from tests.uplink.mqtt.peer import Peer

REPO = Path(__file__).resolve().parents[2]
NODE = "doorcam_porch-9"


def test_discovery_motion_events_stats_and_ha_restart(tmp_path: Path,
                                                      broker: MosquittoBroker) -> None:
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f"""
[capture]
source = "synthetic:porch?size=320x240"
loop = true
[store]
path = "{tmp_path / 'store'}"
[device]
id = "porch-9"
[owner_mqtt]
enabled = true
port = {broker.port}
[homeassistant]
enabled = true
snapshots = true
stats_interval_s = 5
""", encoding="utf-8")
    ha = Peer(broker.port)
    ha.subscribe("homeassistant/#")
    ha.subscribe("doorcam/v1/device/porch-9/#")
    daemon = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                               "--speed", "3"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        motion = json.loads(ha.expect(
            f"homeassistant/binary_sensor/{NODE}/motion/config", timeout=20).payload)
        assert motion["state_topic"] == "doorcam/v1/device/porch-9/motion"
        assert motion["device_class"] == "motion" and motion["unique_id"] == f"{NODE}_motion"
        assert motion["availability_topic"] == "doorcam/v1/device/porch-9/status"
        assert motion["availability_template"] == \
            "{{ 'online' if value == 'online' else 'offline' }}"
        assert motion["payload_on"] == "ON" and motion["device"]["identifiers"] == [NODE]
        for key in ("last_event", "pending_requests", "free_storage"):
            ha.expect(f"homeassistant/sensor/{NODE}/{key}/config")
        clock = json.loads(ha.expect(
            f"homeassistant/binary_sensor/{NODE}/clock_unsynced/config").payload)
        assert clock["device_class"] == "problem"
        assert clock["state_topic"] == "doorcam/v1/device/porch-9/stats"
        image = json.loads(ha.expect(f"homeassistant/image/{NODE}/snapshot/config").payload)
        assert image["content_type"] == "image/jpeg"
        stats = json.loads(ha.expect("doorcam/v1/device/porch-9/stats").payload)
        assert stats["free_mb"] > 0 and "pending" in stats
        assert isinstance(stats["clock_synced"], bool), stats
        states = [ha.expect("doorcam/v1/device/porch-9/motion", timeout=20).payload]
        while states[-1] != b"ON":  # idle at start: OFF
            states.append(ha.expect("doorcam/v1/device/porch-9/motion", timeout=20).payload)
        event_msgs = []
        while states[-1] != b"OFF":
            msg = ha.messages.get(timeout=20)
            if msg.topic.endswith("/motion"):
                states.append(msg.payload)
            elif msg.topic.endswith("/event"):
                event_msgs.append(msg)
        event_msgs = event_msgs or [ha.expect("doorcam/v1/device/porch-9/event")]
        event = json.loads(event_msgs[0].payload)
        assert event["start"].endswith("Z") and event["peak_score"] > 0
        assert event["kind"] == "motion"
        snap = ha.expect("doorcam/v1/device/porch-9/snapshot", timeout=20).payload
        assert snap[:2] == b"\xff\xd8", "a JPEG"
        # Home Assistant restarts: it announces itself and gets the discovery again. The
        # retained `online` says the daemon's subscription to that topic is confirmed.
        watcher = Peer(broker.port)
        watcher.subscribe("doorcam/v1/device/porch-9/status")
        assert watcher.expect("doorcam/v1/device/porch-9/status").payload == b"online"
        watcher.close()
        ha.publish("homeassistant/status", b"online")
        ha.expect(f"homeassistant/binary_sensor/{NODE}/motion/config", timeout=10)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
        assert daemon.returncode == 0, err
        last = ha.expect("doorcam/v1/device/porch-9/status", timeout=10).payload
        while last == b"online":
            last = ha.expect("doorcam/v1/device/porch-9/status", timeout=10).payload
        assert last == b"stopped"
    finally:
        if daemon.poll() is None:
            daemon.kill()
        ha.close()


def test_without_a_home_broker_home_assistant_stays_off_and_nothing_connects(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Home Assistant status never goes to the agency broker of [mqtt]."""
    import contextlib

    from config import Config, StoreConfig
    from config.homeassistant import HomeAssistantConfig
    from device.daemon.supervisor import build_sides

    cfg = Config(store=StoreConfig(path=str(tmp_path / "store")),
                 homeassistant=HomeAssistantConfig(enabled=True))
    with contextlib.ExitStack() as stack:
        sides = build_sides(cfg, capture=False, pace=None, stack=stack)
    assert sides == []
    assert "needs [owner_mqtt] enabled" in caplog.text
