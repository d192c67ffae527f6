"""MqttLink against a real mosquitto: delivery, status topic, bounded queues, hostile bytes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.broker import MosquittoBroker
from tests.uplink.mqtt.peer import Peer, link_config, wait_until
from uplink.mqtt import Incoming, MqttLink

DEVICE = "cam1"
REQUESTS = "doorcam/v1/agency/cam1/request"
STATUS = "doorcam/v1/device/cam1/status"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def peer(broker: MosquittoBroker) -> Iterator[Peer]:
    p = Peer(broker.port)
    yield p
    p.close()


def start_link(broker: MosquittoBroker, **overrides: object) -> MqttLink:
    link = MqttLink(link_config(broker.port, **overrides), DEVICE)
    link.subscribe([REQUESTS])
    link.start()
    assert link.wait_ready(10), f"link not ready: {link.status()}"
    return link


def roundtrip(link: MqttLink, peer: Peer, payload: bytes) -> Incoming:
    """Publish from the peer and return what the link delivers (proves it still works)."""
    peer.publish(REQUESTS, payload)
    got = link.get(timeout=10)
    assert got is not None, f"link did not deliver {payload[:20]!r}; {link.status()}"
    assert link.ack(got)
    return got


def test_delivers_qos1_message_and_announces_online(broker: MosquittoBroker, peer: Peer) -> None:
    link = start_link(broker)
    try:
        assert link.status_topic == STATUS
        got = roundtrip(link, peer, b"hello")
        assert (got.topic, got.payload, got.retained, got.qos) == (REQUESTS, b"hello", False, 1)
        peer.subscribe(STATUS)
        status = peer.expect(STATUS)
        assert (status.payload, status.retain) == (b"online", True)
        s = link.status()
        assert (s.connected, s.ready, s.received, s.reconnects, s.last_error) == (
            True, True, 1, 0, "")
    finally:
        link.close()


def test_request_published_right_after_online_is_delivered(
        broker: MosquittoBroker, peer: Peer) -> None:
    """`online` means listening: an agency that publishes the moment it sees it is heard."""
    peer.subscribe(STATUS)
    link = MqttLink(link_config(broker.port), DEVICE)
    link.subscribe([REQUESTS])
    link.start()
    try:
        assert peer.expect(STATUS).payload == b"online"
        peer.publish(REQUESTS, b"right away")
        got = link.get(timeout=10)
        assert got is not None and got.payload == b"right away", link.status()
        assert link.ack(got)
        assert link.wait_ready(0)
    finally:
        link.close()


def test_retained_request_is_flagged(broker: MosquittoBroker, peer: Peer) -> None:
    peer.publish(REQUESTS, b"old", retain=True)
    link = start_link(broker)
    try:
        got = link.get(timeout=10)
        assert got is not None and got.payload == b"old" and got.retained
    finally:
        link.close()


def test_clean_close_publishes_stopped(broker: MosquittoBroker, peer: Peer) -> None:
    link = start_link(broker)
    link.close()
    assert not link.connected
    peer.subscribe(STATUS)
    msg = peer.expect(STATUS)
    assert (msg.payload, msg.retain) == (b"stopped", True)


def test_full_incoming_queue_drops_and_counts(broker: MosquittoBroker, peer: Peer) -> None:
    link = start_link(broker, queue_size=2)
    try:
        for i in range(5):
            peer.publish(REQUESTS, b"m%d" % i)
        wait_until(lambda: link.status().dropped_full == 3, what="3 drops")
        assert link.status().received == 2
        first, second = link.get(timeout=1), link.get(timeout=1)
        assert first is not None and second is not None
        assert [first.payload, second.payload] == [b"m0", b"m1"]
        assert link.get(timeout=0.2) is None
        assert link.connected
        assert roundtrip(link, peer, b"after").payload == b"after"
    finally:
        link.close()


def test_full_outgoing_queue_drops_and_counts(
        make_broker: Callable[..., MosquittoBroker]) -> None:
    broker = make_broker()
    link = MqttLink(link_config(broker.port, queue_size=3), DEVICE)
    link.start()  # nothing listens yet: paho keeps QoS 1 messages until it connects
    try:
        for i in range(5):
            link.publish(f"doorcam/v1/out/{i}", b"x%d" % i, retain=True)
        assert link.status().dropped_publish == 2
        wait_until(lambda: "cannot connect" in link.status().last_error, what="connect error")
        assert not link.connected
        broker.start()
        wait_until(lambda: link.connected, what="link connected once the broker is up")
        assert link.wait_published(10)
        peer = Peer(broker.port)
        try:
            peer.subscribe("doorcam/v1/out/#")
            got = sorted(peer.expect(f"doorcam/v1/out/{i}").payload for i in range(3))
            assert got == [b"x0", b"x1", b"x2"]
            with pytest.raises(AssertionError):
                peer.expect("doorcam/v1/out/3", timeout=0.3)
        finally:
            peer.close()
    finally:
        link.close()


def test_publish_reaches_subscribers(broker: MosquittoBroker, peer: Peer) -> None:
    link = start_link(broker)
    try:
        peer.subscribe("doorcam/v1/events/cam1")
        link.publish("doorcam/v1/events/cam1", b"\x00clip\xff", qos=1)
        assert link.wait_published(10)
        assert peer.expect("doorcam/v1/events/cam1").payload == b"\x00clip\xff"
        link.publish("doorcam/v1/events/cam1", b"q0", qos=0)
        assert peer.expect("doorcam/v1/events/cam1").payload == b"q0"
    finally:
        link.close()


def test_oversized_message_is_not_delivered_by_a_compliant_broker(
        broker: MosquittoBroker, peer: Peer) -> None:
    link = start_link(broker)  # announces 64 KiB
    try:
        peer.subscribe(REQUESTS)  # the peer announces no limit: the broker did route the message
        big = os.urandom(1024 * 1024)
        peer.publish(REQUESTS, big)
        assert peer.expect(REQUESTS).payload == big
        got = roundtrip(link, peer, b"normal")
        assert got.payload == b"normal"
        s = link.status()
        assert s.connected and s.received == 1 and s.dropped_oversized == 0
    finally:
        link.close()


HOSTILE = [
    b"\xff\xfe\x80\xc3\x28 not utf-8",
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
    b"",
    b"\x00" * 1000,
    os.urandom(1024 * 1024),
]


def test_hostile_payloads_are_carried_as_bytes(broker: MosquittoBroker, peer: Peer) -> None:
    link = start_link(broker, max_packet_kb=2048)
    try:
        for payload in HOSTILE:
            assert roundtrip(link, peer, payload).payload == payload
            assert link.connected
        assert roundtrip(link, peer, b"still fine").payload == b"still fine"
        assert link.status().received == len(HOSTILE) + 1
    finally:
        link.close()


def test_payload_preview_is_bounded() -> None:
    item = Incoming("t", b"\xff" + b"a" * 500, False, 0.0)
    assert len(item.preview()) <= 81 and item.preview().startswith("\ufffd")
    assert "aaaa" not in repr(item)


def test_device_id_must_be_one_topic_level(broker: MosquittoBroker) -> None:
    for bad in ["", "a/b", "cam+", "#", "x" * 65]:
        with pytest.raises(ValueError):
            MqttLink(link_config(broker.port), bad)


def test_a_silent_link_says_nothing_on_the_broker_and_is_ready_all_the_same(
        broker: MosquittoBroker, peer: Peer) -> None:
    """The agency broker's link: anyone reading that broker learns no device id and no times
    the device comes up or stops."""
    peer.subscribe("doorcam/v1/device/#")
    link = MqttLink(link_config(broker.port), DEVICE, announce=False)
    link.subscribe([REQUESTS])
    link.start()
    try:
        assert link.wait_ready(10), f"link not ready: {link.status()}"
        assert roundtrip(link, peer, b"heard").payload == b"heard"
    finally:
        link.close()
    assert not link.connected
    peer.publish("doorcam/v1/device/marker", b"end")  # after everything the link sent
    said = []
    while (msg := peer.messages.get(timeout=10)).topic != "doorcam/v1/device/marker":
        said.append((msg.topic, msg.payload))
    assert said == [], said
