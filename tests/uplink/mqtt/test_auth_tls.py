"""The link against a broker that wants a password, and one that speaks only TLS."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import trustme

from tests.broker import MosquittoBroker
from tests.support import require
from tests.uplink.mqtt.peer import link_config, wait_until
from uplink.mqtt import MqttLink


def test_username_and_password(tmp_path: Path,
                               make_broker: Callable[..., MosquittoBroker]) -> None:
    passwd = tmp_path / "passwd"
    made = subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "cam", "s3cret"],
                          capture_output=True, text=True, check=False)
    require(made.returncode == 0, f"mosquitto_passwd failed: {made.stderr.strip()}")
    passwd.chmod(0o600)
    broker = make_broker(extra_config=f"allow_anonymous false\npassword_file {passwd}")
    broker.start()
    good = MqttLink(link_config(broker.port, username="cam", password="s3cret"), "porch-a")
    bad = MqttLink(link_config(broker.port, username="cam", password="wrong"), "porch-b")
    good.start()
    bad.start()
    try:
        wait_until(lambda: good.connected, what="authenticated connection")
        wait_until(lambda: bool(bad.status().last_error), what="refusal recorded")
        assert not bad.connected
        assert "refused" in bad.status().last_error or "disconnected" in bad.status().last_error
    finally:
        good.close()
        bad.close()


def test_tls_only_listener(tmp_path: Path, make_broker: Callable[..., MosquittoBroker]) -> None:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    ca_file, cert, key = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server.cert_chain_pems[0].write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    broker = make_broker(extra_config=f"cafile {ca_file}\ncertfile {cert}\nkeyfile {key}")
    broker.start()
    secure = MqttLink(link_config(broker.port, tls=True, ca_file=str(ca_file)), "porch-t")
    plain = MqttLink(link_config(broker.port), "porch-p")
    secure.subscribe(["t/x"])
    secure.start()
    plain.start()
    try:
        assert secure.wait_ready(10), f"TLS link not ready: {secure.status()}"
        secure.publish("t/x", b"hello")
        msg = secure.get(timeout=10)
        assert msg is not None and (msg.topic, msg.payload) == ("t/x", b"hello")
        assert not plain.connected, "a plain client must not get through a TLS listener"
    finally:
        secure.close()
        plain.close()
