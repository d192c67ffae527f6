"""What MqttLink puts on the wire, checked byte by byte against a fake broker's socket."""

from __future__ import annotations

import queue
import struct
from collections.abc import Iterator

import pytest

from tests.uplink.mqtt.fake_broker import (
    CONNECT,
    PUBACK,
    PUBLISH,
    SUBSCRIBE,
    FakeBroker,
    Reader,
    parse_connect,
    publish_packet,
)
from tests.uplink.mqtt.peer import link_config, wait_until
from uplink.mqtt import MqttLink

SESSION_EXPIRY, MAX_PACKET_SIZE = 0x11, 0x27

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def fake() -> Iterator[FakeBroker]:
    f = FakeBroker()
    yield f
    f.close()


def test_connect_announces_persistent_session_size_limit_and_will(fake: FakeBroker) -> None:
    link = MqttLink(link_config(fake.port, max_packet_kb=64, session_expiry_s=3600,
                                username="cam", password="s3cret"), "cam1")
    link.start()
    try:
        c = parse_connect(fake.expect(CONNECT))
        assert c.flags & 0x02 == 0, "clean_start must be off: the session persists"
        assert c.properties[SESSION_EXPIRY] == 3600
        assert c.properties[MAX_PACKET_SIZE] == 64 * 1024
        assert c.client_id == "doorcam-cam1"
        assert c.keepalive == 5
        assert c.flags & 0x04 and (c.flags >> 3) & 0x03 == 1 and c.flags & 0x20, \
            "last will must be QoS 1 and retained"
        assert (c.will_topic, c.will_payload) == ("doorcam/v1/device/cam1/status", b"offline")
        assert (c.username, c.password) == ("cam", b"s3cret")
    finally:
        link.close()


def test_anonymous_connect_sends_no_credentials(fake: FakeBroker) -> None:
    link = MqttLink(link_config(fake.port, client_id="porch"), "cam1")
    link.start()
    try:
        c = parse_connect(fake.expect(CONNECT))
        assert c.flags & 0xC0 == 0 and c.client_id == "porch"
    finally:
        link.close()


def _puback_mids(fake: FakeBroker, timeout: float) -> list[int]:
    mids: list[int] = []
    while True:
        try:
            kind, _, body = fake.received.get(timeout=timeout)
        except queue.Empty:
            return mids
        if kind == PUBACK:
            mids.append(struct.unpack("!H", body[:2])[0])


def test_oversized_packet_from_a_noncompliant_broker_is_dropped(fake: FakeBroker) -> None:
    """Its own size check, and manual acks: the oversized message is acked at once (a resend
    would fail the same way), the good one only when the consumer calls ack()."""
    link = MqttLink(link_config(fake.port, max_packet_kb=1), "cam1")
    link.subscribe(["req"])
    link.start()
    try:
        topic = Reader(fake.expect(SUBSCRIBE)[3:]).binary()  # skip mid and empty properties
        assert topic == b"req"
        wait_until(lambda: link.connected, what="link connected")
        fake.send(publish_packet("req", b"x" * 1025, mid=7))
        fake.send(publish_packet("req", b"ok", mid=8))
        got = link.get(timeout=10)
        assert got is not None and got.payload == b"ok" and got.mid == 8
        s = link.status()
        assert (s.dropped_oversized, s.received, s.connected) == (1, 1, True)
        assert _puback_mids(fake, timeout=0.5) == [7]
        assert link.ack(got)
        assert _puback_mids(fake, timeout=0.5) == [8]
    finally:
        link.close()


def test_online_is_published_retained_on_connect(fake: FakeBroker) -> None:
    link = MqttLink(link_config(fake.port), "cam1")
    link.start()
    try:
        while True:
            kind, flags, body = fake.received.get(timeout=10)
            if kind == PUBLISH:
                break
        r = Reader(body)
        assert r.binary() == b"doorcam/v1/device/cam1/status"
        assert (flags >> 1) & 0x03 == 1 and flags & 0x01, "QoS 1, retained"
        r.u16()
        r.properties()
        assert body[r.pos:] == b"online"
    finally:
        link.close()
