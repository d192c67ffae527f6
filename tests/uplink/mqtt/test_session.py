"""Persistent session, manual acks, broker restarts and the last will, with real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.broker import MosquittoBroker
from tests.uplink.mqtt.peer import Peer, link_config, wait_until
from uplink.mqtt import MqttLink

REPO = Path(__file__).resolve().parents[3]
DEVICE = "cam1"
REQUESTS = "doorcam/v1/agency/cam1/request"
STATUS = "doorcam/v1/device/cam1/status"

pytestmark = pytest.mark.timeout(60)


def open_link(broker: MosquittoBroker, subscribe: bool = True) -> MqttLink:
    link = MqttLink(link_config(broker.port), DEVICE)
    if subscribe:
        link.subscribe([REQUESTS])
    link.start()
    assert link.wait_ready(10), f"link not ready: {link.status()}"
    return link


def receive(link: MqttLink, timeout: float = 10) -> bytes:
    got = link.get(timeout=timeout)
    assert got is not None, f"nothing delivered; {link.status()}"
    return got.payload


def subscribed(link: MqttLink, peer: Peer) -> None:
    """Barrier: once a probe message arrives, the subscription is in the broker's session."""
    peer.publish(REQUESTS, b"probe")
    got = link.get(timeout=10)
    assert got is not None and got.payload == b"probe"
    assert link.ack(got)


def test_unacked_message_is_redelivered_until_acked(broker: MosquittoBroker) -> None:
    peer = Peer(broker.port)
    link = open_link(broker)
    subscribed(link, peer)
    peer.publish(REQUESTS, b"request-1")
    assert receive(link) == b"request-1"
    link.close()  # as if the device crashed before storing it: never acked

    link = open_link(broker, subscribe=False)
    got = link.get(timeout=10)
    assert got is not None and got.payload == b"request-1"
    assert link.ack(got)
    link.close()

    link = open_link(broker, subscribe=False)
    assert link.get(timeout=1.0) is None, "an acked message must not come back"
    link.close()
    peer.close()


def test_message_sent_while_offline_arrives_after_reconnect(broker: MosquittoBroker) -> None:
    peer = Peer(broker.port)
    link = open_link(broker)
    subscribed(link, peer)
    link.close()
    peer.publish(REQUESTS, b"while-offline")
    link = open_link(broker, subscribe=False)  # the session still holds the subscription
    assert receive(link) == b"while-offline"
    link.close()
    peer.close()


def test_session_survives_broker_restart_with_persistence(
        make_broker: Callable[..., MosquittoBroker], tmp_path: Path) -> None:
    broker = make_broker(tmp_path / "db")
    broker.start()
    peer = Peer(broker.port)
    link = open_link(broker)
    subscribed(link, peer)
    link.close()
    peer.publish(REQUESTS, b"queued")
    peer.close()
    broker.stop()
    broker.start()
    link = open_link(broker, subscribe=False)
    assert receive(link) == b"queued"
    link.close()


def test_link_reconnects_after_broker_restart(broker: MosquittoBroker) -> None:
    peer = Peer(broker.port)
    link = open_link(broker)
    subscribed(link, peer)
    peer.publish(REQUESTS, b"unstored")
    before = link.get(timeout=10)
    assert before is not None
    peer.close()

    broker.stop()  # no persistence: the new broker knows neither session nor retained status
    wait_until(lambda: not link.connected, what="link noticing the broker is gone")
    assert link.status().last_error
    broker.start()
    assert link.wait_ready(15), f"link did not reconnect and re-subscribe: {link.status()}"
    assert link.status().reconnects == 1
    assert not link.ack(before), "an ack from the previous connection must not be sent"

    peer = Peer(broker.port)
    peer.subscribe(STATUS)
    assert peer.expect(STATUS).payload == b"online"
    peer.publish(REQUESTS, b"after-restart")  # delivered only because the link re-subscribed
    assert receive(link) == b"after-restart"
    link.close()
    peer.close()


def test_last_will_offline_when_device_process_is_killed(broker: MosquittoBroker) -> None:
    peer = Peer(broker.port)
    peer.subscribe(STATUS)
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("device_proc.py")),
                             str(broker.port), DEVICE], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "connected"
        assert peer.expect(STATUS).payload == b"online"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        msg = peer.expect(STATUS, timeout=5)
        assert (msg.payload, msg.retain) == (b"offline", False)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        peer.close()
    late = Peer(broker.port)
    late.subscribe(STATUS)
    retained = late.expect(STATUS)
    assert (retained.payload, retained.retain) == (b"offline", True)
    late.close()
