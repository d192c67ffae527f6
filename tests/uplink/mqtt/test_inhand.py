"""A message whose handling failed is handled again by the next run, on the same connection,
at most TRIES times; then, or after a reconnect, it is left to the broker. Real mosquitto."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from device.daemon.inhand import TRIES, InHand
from tests.broker import MosquittoBroker
from tests.uplink.mqtt.peer import Peer, wait_until
from tests.uplink.mqtt.test_session import REQUESTS, open_link, subscribed
from uplink.mqtt import MqttLink

pytestmark = pytest.mark.timeout(60)


def listening(broker: MosquittoBroker) -> tuple[Peer, MqttLink, InHand]:
    """An agency peer, the device's link subscribed to the requests, and its hand."""
    peer = Peer(broker.port)
    link = open_link(broker)
    subscribed(link, peer)
    return peer, link, InHand(link, "agency request")


def test_a_failed_message_comes_first_until_it_is_done(broker: MosquittoBroker) -> None:
    peer, link, hand = listening(broker)
    peer.publish(REQUESTS, b"request-1")
    peer.publish(REQUESTS, b"request-2")
    first = hand.take(10)
    assert first is not None and first.payload == b"request-1"
    again = hand.take(10)  # its handling failed: the next run gets it again, not request-2
    assert again is first
    hand.done(again)
    second = hand.take(10)
    assert second is not None and second.payload == b"request-2"
    hand.done(second)
    assert hand.take(0.5) is None
    link.close()

    link = open_link(broker, subscribe=False)  # both were acknowledged: neither comes back
    assert link.get(timeout=1.0) is None
    link.close()
    peer.close()


def test_a_message_that_keeps_failing_is_left_to_the_broker(
        broker: MosquittoBroker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "doorcam")
    peer, link, hand = listening(broker)
    peer.publish(REQUESTS, b"poison")
    peer.publish(REQUESTS, b"next")
    tries = [hand.take(10) for _ in range(TRIES)]
    assert all(m is not None and m.payload == b"poison" for m in tries)
    after = hand.take(10)  # the messages behind it are not held up for good
    assert after is not None and after.payload == b"next"
    assert f"agency request on {REQUESTS} failed {TRIES} times" in caplog.text
    hand.done(after)
    link.close()

    link = open_link(broker, subscribe=False)  # never acknowledged: the broker sends it again
    back = link.get(timeout=10)
    assert back is not None and back.payload == b"poison"
    link.close()
    peer.close()


def test_a_message_taken_before_a_reconnect_is_not_handled_twice(
        make_broker: Callable[..., MosquittoBroker], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "doorcam")
    broker = make_broker(tmp_path / "db")
    broker.start()
    peer, link, hand = listening(broker)
    peer.publish(REQUESTS, b"request-1")
    peer.close()
    held = hand.take(10)
    assert held is not None and held.payload == b"request-1"
    broker.stop()  # persistence on: the session and its unacknowledged message survive
    wait_until(lambda: not link.connected, what="the link noticing the broker is gone")
    broker.start()
    assert link.wait_ready(15), link.status()
    assert not link.current(held)
    resent = hand.take(10)  # the broker's copy, not the one from the old connection
    assert resent is not None and resent is not held and resent.payload == b"request-1"
    assert link.current(resent)
    assert "agency request taken before a reconnect" in caplog.text
    hand.done(resent)
    link.close()
