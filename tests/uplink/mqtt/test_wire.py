"""What MqttLink puts on the wire, checked byte by byte against a fake broker's socket."""

from __future__ import annotations

import queue
import struct
from collections.abc import Iterator

import pytest

from tests.uplink.mqtt.fake_broker import (
    CONNECT,
    PINGREQ,
    PUBACK,
    PUBLISH,
    SUBSCRIBE,
    FakeBroker,
    Reader,
    parse_connect,
    publish_packet,
    subscribe_topics,
)
from tests.uplink.mqtt.peer import link_config, wait_until
from uplink.mqtt import MqttLink

SESSION_EXPIRY, MAX_PACKET_SIZE = 0x11, 0x27
STATUS = "doorcam/v1/device/cam1/status"

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
        assert link.wait_ready(10), link.status()
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


def parse_publish(flags: int, body: bytes) -> tuple[str, bytes]:
    r = Reader(body)
    topic = r.binary().decode()
    if flags & 0x06:
        r.u16()  # packet id (QoS > 0)
    r.properties()
    return topic, body[r.pos:]


def packets_through(fake: FakeBroker, kind: int) -> list[tuple[int, int, bytes]]:
    """Every packet the client sends up to and including the next one of `kind`, in order
    (keepalive pings left out)."""
    seen = []
    while True:
        got = fake.received.get(timeout=10)
        if got[0] != PINGREQ:
            seen.append(got)
        if got[0] == kind:
            return seen


def test_online_is_published_retained_on_connect(fake: FakeBroker) -> None:
    """With nothing to subscribe to, the link is ready as soon as it is connected."""
    link = MqttLink(link_config(fake.port), "cam1")
    link.start()
    try:
        _, flags, body = packets_through(fake, PUBLISH)[-1]
        assert parse_publish(flags, body) == (STATUS, b"online")
        assert (flags >> 1) & 0x03 == 0 and flags & 0x01, "QoS 0, retained"
        assert link.wait_ready(10)
    finally:
        link.close()


def test_online_only_after_suback_for_every_subscription_on_every_connection() -> None:
    """SUBSCRIBE, then SUBACK, then the retained `online`; on reconnect (session present or
    not) the same again. A probe the link publishes while the SUBACK is withheld is the
    barrier: anything queued before it (an early `online`) would reach the broker first."""
    fake = FakeBroker(auto_suback=False)
    link = MqttLink(link_config(fake.port), "cam1")
    link.subscribe(["req/a", "req/b"])
    link.subscribe(["owner/decisions"], qos=0)
    link.start()
    try:
        for connection, session_present in enumerate((False, True)):
            fake.session_present = session_present
            sent = packets_through(fake, SUBSCRIBE)
            assert [kind for kind, _, _ in sent] == [CONNECT, SUBSCRIBE], sent
            mid, topics = subscribe_topics(sent[-1][2])
            assert sorted(topics) == ["owner/decisions", "req/a", "req/b"]
            assert not link.wait_ready(0) and not link.status().ready

            link.publish("probe", b"%d" % connection, qos=0)
            (_, flags, body), = packets_through(fake, PUBLISH)
            assert parse_publish(flags, body) == ("probe", b"%d" % connection), \
                "nothing may be published between SUBSCRIBE and its SUBACK"

            fake.suback(mid, bytes(1 if t.startswith("req/") else 0 for t in topics))
            (_, flags, body), = packets_through(fake, PUBLISH)
            assert parse_publish(flags, body) == (STATUS, b"online")
            assert flags & 0x01, "retained"
            assert link.wait_ready(10) and link.status().ready
            if connection == 0:
                fake.drop()
                wait_until(lambda: not link.ready, what="readiness to end with the connection")
        assert link.status().reconnects == 1
    finally:
        link.close()
        fake.close()


def test_refused_subscription_is_an_error_not_an_online(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeBroker(auto_suback=False)
    link = MqttLink(link_config(fake.port), "cam1")
    link.subscribe(["req/a", "forbidden/#"])
    link.start()
    try:
        mid, topics = subscribe_topics(fake.expect(SUBSCRIBE))
        fake.suback(mid, bytes(0x87 if t == "forbidden/#" else 1 for t in topics))
        wait_until(lambda: "refused" in link.status().last_error, what="refusal reported")
        link.publish("probe", b"after-suback", qos=0)
        (_, flags, body), = packets_through(fake, PUBLISH)
        assert parse_publish(flags, body) == ("probe", b"after-suback"), "no `online`"
        s = link.status()
        assert s.connected and not s.ready and not link.wait_ready(0)
        assert "forbidden/#" in s.last_error and "Not authorized" in s.last_error
        assert "req/a" not in s.last_error
        assert set(s.refused) == {"forbidden/#"}, s.refused
        assert any(r.levelname == "ERROR" and "refused" in r.getMessage()
                   for r in caplog.records)
    finally:
        link.close()
        fake.close()


def test_a_silent_link_connects_without_a_last_will(fake: FakeBroker) -> None:
    link = MqttLink(link_config(fake.port), "cam1", announce=False)
    link.start()
    try:
        c = parse_connect(fake.expect(CONNECT))
        assert c.client_id == "doorcam-cam1", "precondition: the link's CONNECT was read"
        assert c.flags & 0x04 == 0 and c.will_topic == "", "no last will at all"
    finally:
        link.close()
