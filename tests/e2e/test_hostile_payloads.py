"""Hostile MQTT payloads while the camera runs: the device stays connected, logs one line per
payload and keeps detecting motion and storing clips."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.broker import MosquittoBroker
from tests.log_lines import LogLines
from tests.uplink.mqtt.peer import Peer, wait_until
from uplink.protocol import generate_keypair, public_key_to_text, sign_document, topics_for
from uplink.protocol.fields import format_time

REPO = Path(__file__).resolve().parents[2]
LAT, LON = 40.6930, -73.9905
HOSTILE = [b"{not json", b"\xff\xfe\xfd", b"[" * 60_000, b'{"request_id": 5}',
           b'{"type": "request", "description": "' + b"A" * 50_000 + b'"}', b"x" * 900_000]


def test_hostile_payloads_do_not_stop_motion_detection(tmp_path: Path,
                                                       broker: MosquittoBroker) -> None:
    store = tmp_path / "store"
    store.mkdir()
    reg = generate_keypair()[0]
    now = int(time.time())
    agency = {"id": "pd-1", "name": "PD", "upload_hosts": ["evidence.example.gov"],
              "jurisdiction": {"lat": "40.6900000", "lon": "-73.9900000", "radius_m": 20000},
              "keys": [{"kid": "pd-key", "revoked": False, "valid_from": format_time(now - 99),
                        "valid_until": format_time(now + 9999),
                        "public_key": public_key_to_text(generate_keypair()[1])}]}
    doc = sign_document({"type": "registry", "protocol": 1, "version": 1,
                         "issued_at": format_time(now - 60), "agencies": [agency]}, reg, "reg")
    import json

    (store / "registry.json").write_text(json.dumps(doc))
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f"""
[capture]
source = "synthetic:porch?size=320x240"
loop = true
[store]
path = "{store}"
[device]
id = "porch-h"
latitude = {LAT}
longitude = {LON}
[uplink]
enabled = true
registry_key = "{public_key_to_text(reg.public_key())}"
[mqtt]
port = {broker.port}
""", encoding="utf-8")
    watcher = Peer(broker.port)  # whoever reads the agency broker
    watcher.subscribe("doorcam/v1/device/#")
    daemon = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                               "--speed", "4"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    logs = LogLines(daemon)
    try:
        # Said only after the broker confirmed the daemon's subscriptions.
        logs.wait_for("listening for agency requests", timeout=20)
        agency = Peer(broker.port)
        for payload in HOSTILE:
            agency.publish(topics_for(LAT, LON)[0], payload)
        clips = store / "clips"
        before = len(list(clips.glob("*.mp4"))) if clips.exists() else 0
        wait_until(lambda: len(list(clips.glob("*.mp4"))) >= before + 2, timeout=40,
                   what="two more clips after the hostile payloads")
        assert daemon.poll() is None, "the daemon died"
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        err = logs.text()
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    # The device said nothing on the agency broker: no id, no online, stopped or last will.
    watcher.publish("doorcam/v1/device/marker", b"end")  # after everything the daemon sent
    said = []
    while (topic := watcher.messages.get(timeout=20).topic) != "doorcam/v1/device/marker":
        said.append(topic)
    assert said == [], said
    rejected = [ln for ln in err.splitlines() if "request rejected" in ln]
    # One line each; the 900 kB one may be dropped by the size limit before parsing.
    assert len(HOSTILE) - 1 <= len(rejected) <= len(HOSTILE), err[-3000:]
    assert all(len(ln) < 400 for ln in rejected)
    reconnects = [ln for ln in err.splitlines() if "disconnect" in ln.lower()]
    assert not reconnects, reconnects
