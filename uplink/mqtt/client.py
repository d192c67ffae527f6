"""MqttLink: the one wrapper around paho-mqtt (the only module that imports it).

Threads: paho's network thread (`loop_start`) owns the socket and runs the callbacks below;
other threads use only `subscribe`, `publish`, `get`, `ack`, `status` and `close`, which never
block on the network. Incoming messages wait in a bounded queue; when it is full they are
dropped and counted, never queued without bound and never blocking paho's thread.

Delivery is at-least-once and ends in the consumer: messages are not acknowledged to the
broker on arrival (paho `manual_ack=True`). The consumer calls `ack(incoming)` after it has
stored the message durably; until then the broker keeps it in the device's persistent session
(clean_start=False, Session Expiry Interval) and resends it after the next reconnect, so a
crash before storing loses nothing. Consumers must therefore accept duplicates. Messages
dropped because the queue was full are likewise not acknowledged and come back after the
next reconnect; oversized or unreadable ones are acknowledged, since a resend would fail the
same way.

Birth after subscriptions: on every connection the link (re)subscribes to every topic given to
`subscribe()` so far, and publishes its retained `online` status only once the broker has
acknowledged all of them (SUBACK, every reason code a success). Whoever sees `online` may
publish at once and be heard; `wait_ready()` is the same signal inside the process. Topics
should therefore be given before `start()`. A refused subscription is logged, kept in
`status().last_error`, and the link stays not ready: it never announces `online` while deaf.
The birth is QoS 0 on purpose: paho resends unacknowledged QoS 1 messages right after the next
CONNACK, before any SUBACK, so a QoS 1 `online` cut off by a disconnect would announce the
next connection too early. A lost QoS 0 birth needs no resend: its connection is gone, the
last will says `offline`, and the next connection announces itself again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from config.mqtt import MqttConfig, check_device_id
from uplink.mqtt.messages import Incoming, LinkStatus

log = logging.getLogger(__name__)

ONLINE, OFFLINE, STOPPED = b"online", b"offline", b"stopped"
_TOPIC_LOG_CHARS = 80
SESSION_TAKEN_OVER = 142  # MQTT v5 DISCONNECT reason: a client with this id connected
# A broker that closes the socket without a DISCONNECT reason (mosquitto 2.0.11 does) shows a
# takeover only by its pattern: connections accepted at once and closed within seconds, in a
# row. A broker going away instead refuses the next connect, which resets the count.
_SHORT_S, _SHORT_IN_A_ROW = 10.0, 3
_STABLE_S = 600.0  # a connection this long means the other client has gone
_REPEAT_LOG_S = 600.0


class _QuietWhileConnecting(logging.Filter):
    """paho logs "Client is not connected" at ERROR on every failed connect attempt; the link
    says what is wrong itself (host and port), once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Client is not connected")


class MqttLink:
    """A persistent, self-reconnecting MQTT v5 session for one device."""

    def __init__(self, config: MqttConfig, device_id: str, *,
                 settings: str = "[mqtt] host and port", announce: bool = True) -> None:
        """`settings` names where the broker's address was set, for the line saying it
        cannot be reached. Without `announce` the link publishes no status at all (no
        `online`, `stopped` or last will): on a broker others read, the device's id and
        when it is up or down are nobody's business; it is ready all the same."""
        check_device_id(device_id)
        self._config = config
        self._settings = settings
        self._announce = announce
        self.max_payload = config.max_packet_kb * 1024
        self.status_topic = config.status_topic(device_id)
        self._inbox: queue.Queue[Incoming] = queue.Queue(maxsize=config.queue_size)
        self._lock = threading.Lock()
        self._published = threading.Condition(self._lock)
        self._topics: dict[str, int] = {}
        self._pending: set[int] = set()  # QoS>0 mids sent but not yet acknowledged by the broker
        self._sent_qos0: set[int] = set()  # QoS 0 mids not yet written to the socket
        self._early: set[int] = set()  # mids whose on_publish ran before publish() returned
        self._connected = False
        self._awaiting: dict[int, list[str]] = {}  # SUBSCRIBE mid -> its topics, until SUBACK
        self._refused: dict[str, str] = {}  # topic -> reason, for this connection
        self._announced = False  # `online` published on this connection
        self._ready = threading.Event()  # subscribed (every SUBACK a success) and announced
        self._session = 0  # bumped on every connect, so acks never cross connections
        self._counts = dict.fromkeys(
            ("received", "dropped_full", "dropped_oversized", "dropped_invalid",
             "dropped_publish", "connects"), 0)
        self._last_error = ""
        self._started = self._closed = False
        self._device_id = device_id
        self._up_since: float | None = None  # monotonic time of the last CONNACK, if up
        self._short_drops = 0  # connections in a row closed by the broker within _SHORT_S
        self._taken_over = False  # backing off: another client uses this id
        self._takeover_logged = -_REPEAT_LOG_S
        self._unreachable = False  # logged once per streak of failed connects
        self._client = self._make_client(config.effective_client_id(device_id))

    def _make_client(self, client_id: str) -> mqtt.Client:
        cfg = self._config
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)
        self._paho_log = logging.getLogger(f"{__name__}.paho.{client_id}")
        self._paho_log.addFilter(_QuietWhileConnecting())
        client.enable_logger(self._paho_log)
        client.suppress_exceptions = True  # a bug in a callback must not end the network thread
        client.reconnect_delay_set(cfg.reconnect_min_s, max(cfg.reconnect_min_s,
                                                            cfg.reconnect_max_s))
        # publish() bounds the caller's messages; the margin keeps room for status messages.
        client.max_queued_messages_set(cfg.queue_size + 8)
        if self._announce:
            client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password or None)
        if cfg.tls:
            client.tls_set(ca_certs=cfg.ca_file or None, certfile=cfg.cert_file or None,
                           keyfile=cfg.key_file or None)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._config.session_expiry_s
        props.MaximumPacketSize = self.max_payload
        return props

    # -- lifecycle (any thread) -------------------------------------------------------------

    def start(self) -> None:
        """Begin connecting in the background; paho reconnects with backoff from then on."""
        if self._started:
            return
        self._started = True
        cfg = self._config
        # A link that keeps no session (expiry 0: the owner's tool) starts clean, so it never
        # resumes a session an earlier run left behind, with its queue of old messages.
        self._client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s,
                                   clean_start=cfg.session_expiry_s == 0,
                                   properties=self._connect_properties())
        self._client.loop_start()

    def close(self, timeout: float = 5.0) -> None:
        """Publish `stopped`, disconnect cleanly (no last will) and stop the network thread."""
        if not self._started or self._closed:
            return
        self._closed = True
        if self.connected and self._announce:
            self._send(self.status_topic, STOPPED, 1, True)
            self.wait_published(timeout)
        # paho 2.2 logs "Client is not connected" at ERROR from its thread after a clean
        # disconnect; nothing is wrong then, so this link's paho log goes quiet first.
        self._paho_log.setLevel(logging.CRITICAL)
        self._client.disconnect()
        self._client.loop_stop()
        with self._lock:
            self._connected = False
            self._ready.clear()

    def __enter__(self) -> MqttLink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- consumer and producer API (any thread) -----------------------------------------------

    def subscribe(self, topics: list[str], qos: int = 1) -> None:
        """Subscribe on every connection; `online` waits for these topics' SUBACK.

        Give the topics before `start()`: a link that has already announced `online` cannot
        take it back, so a later call only makes `wait_ready()` wait for its SUBACK.
        """
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        if not topics:
            return
        with self._lock:
            self._topics.update(dict.fromkeys(topics, qos))
            if self._connected:
                # Under the lock, so its SUBACK cannot be handled before the mid is recorded.
                self._send_subscribe(self._client, [(t, qos) for t in topics])

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the broker has confirmed every subscription and `online` is published.

        False after `timeout` seconds, or while a subscription is refused. Readiness ends
        with the connection and comes back only after the next connection's SUBACKs.
        """
        return self._ready.wait(timeout)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def get(self, timeout: float | None = None) -> Incoming | None:
        """The next message, or None after `timeout` seconds."""
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def current(self, incoming: Incoming) -> bool:
        """Whether `incoming` came on this connection: if not, the broker sends it again."""
        with self._lock:
            return self._connected and incoming.session == self._session

    def ack(self, incoming: Incoming) -> bool:
        """Acknowledge a message once it is durably handled (stored, or rejected and logged).

        Returns False when the ack was not sent and the broker will redeliver the message:
        an ack from an earlier connection is never sent, since its packet id may now name
        another message. Every QoS 1 message from `get()` needs an ack, or it comes back
        after each reconnect.
        """
        if incoming.qos == 0:
            return True
        with self._lock:
            if not self._connected or incoming.session != self._session:
                return False
            return self._client.ack(incoming.mid, incoming.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Queue a message for sending; dropped and counted when `queue_size` are waiting."""
        with self._lock:
            full = qos > 0 and len(self._pending) >= self._config.queue_size
            if full:
                self._counts["dropped_publish"] += 1
        if full:
            log.warning("outgoing queue full: dropped publish to %s", topic[:_TOPIC_LOG_CHARS])
            return
        self._send(topic, payload, qos, retain)

    def _send(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        # paho keeps QoS>0 messages published while offline and sends them after reconnecting.
        queued = info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or (
            qos > 0 and info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN)
        with self._lock:
            if not queued:
                self._counts["dropped_publish"] += 1
            elif info.mid in self._early:
                self._early.discard(info.mid)
            else:
                (self._pending if qos > 0 else self._sent_qos0).add(info.mid)
        if not queued:
            log.warning("publish to %s dropped (%s)", topic[:_TOPIC_LOG_CHARS],
                        mqtt.error_string(info.rc))

    def wait_published(self, timeout: float) -> bool:
        """Wait until every QoS>0 message published so far is acknowledged by the broker."""
        with self._published:
            return self._published.wait_for(lambda: not self._pending, timeout)

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._connected

    def status(self) -> LinkStatus:
        with self._lock:
            c = self._counts
            return LinkStatus(
                connected=self._connected, ready=self._ready.is_set(),
                received=c["received"],
                dropped_full=c["dropped_full"], dropped_oversized=c["dropped_oversized"],
                dropped_invalid=c["dropped_invalid"], dropped_publish=c["dropped_publish"],
                reconnects=max(0, c["connects"] - 1), last_error=self._last_error,
                refused=dict(self._refused))

    # -- paho callbacks (paho's network thread only) --------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            with self._lock:
                self._last_error = f"connect refused: {reason_code}"
            log.warning("broker refused connection: %s", reason_code)
            return
        log.info("connected to %s:%d (session present: %s)", self._config.host,
                 self._config.port, flags.session_present)
        with self._lock:
            self._up_since = time.monotonic()
            self._unreachable = False
            self._connected = True
            self._session += 1
            self._counts["connects"] += 1
            self._awaiting.clear()
            self._refused.clear()
            self._announced = False
            self._ready.clear()
            topics = list(self._topics.items())
            # Always re-subscribe: harmless when the session survived, essential when it did
            # not; and only the SUBACKs of this connection prove the link is listening.
            if topics:
                self._send_subscribe(client, topics)
            session = self._session
        self._announce_if_ready(session)

    def _send_subscribe(self, client: mqtt.Client, topics: list[tuple[str, int]]) -> None:
        """Send one SUBSCRIBE and remember its topics until the SUBACK (holding the lock)."""
        rc, mid = client.subscribe(topics)
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
            self._awaiting[mid] = [t for t, _ in topics]
            self._ready.clear()
        else:  # the connection just went: the next on_connect subscribes again
            log.warning("subscribe not sent (%s); retrying on reconnect", mqtt.error_string(rc))

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reason_code_list: list[Any], properties: Any) -> None:
        with self._lock:
            topics = self._awaiting.pop(mid, None)
            if topics is None:
                return  # not one of ours on this connection
            refused = {t: str(rc) for t, rc in zip(topics, reason_code_list, strict=False)
                       if rc.is_failure}
            if len(reason_code_list) < len(topics):
                refused.update(dict.fromkeys(topics[len(reason_code_list):], "no reason code"))
            self._refused.update(refused)
            error = "subscription refused: " + "; ".join(
                f"{t[:_TOPIC_LOG_CHARS]} ({why})" for t, why in sorted(refused.items()))
            if refused:
                self._last_error = error
            session = self._session
        if refused:
            log.error("%s; the link is not ready and does not announce online", error)
        self._announce_if_ready(session)

    def _announce_if_ready(self, session: int) -> None:
        """Publish `online` once per connection, when every subscription is confirmed."""
        with self._lock:
            if (session != self._session or not self._connected or self._awaiting
                    or self._refused):
                return
            first = not self._announced
            self._announced = True
        if first and self._announce:
            self._send(self.status_topic, ONLINE, 0, True)
        with self._lock:
            if (session == self._session and self._connected and not self._awaiting
                    and not self._refused):
                self._ready.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        cfg = self._config
        with self._lock:
            self._last_error = f"cannot connect to {cfg.host}:{cfg.port}"
            self._short_drops = 0
            first, self._unreachable = not self._unreachable, True
        if first and not self._closed:
            log.warning("cannot reach the MQTT broker at %s:%d (no answer, refused or name "
                        "not found); retrying every %d-%d s: check %s and that the broker "
                        "runs", cfg.host, cfg.port, cfg.reconnect_min_s,
                        max(cfg.reconnect_min_s, cfg.reconnect_max_s), self._settings)

    def _note_drop(self, client: mqtt.Client, reason_code: Any) -> str | None:
        """Count a connection the broker closed; the error line to log when another client
        with this id keeps taking the session over (holding the lock)."""
        lived = None if self._up_since is None else time.monotonic() - self._up_since
        self._up_since = None
        if lived is None or self._closed:
            return None
        cfg = self._config
        if lived >= _STABLE_S and self._taken_over:
            self._taken_over = False
            client.reconnect_delay_set(cfg.reconnect_min_s,
                                       max(cfg.reconnect_min_s, cfg.reconnect_max_s))
        sure = getattr(reason_code, "value", None) == SESSION_TAKEN_OVER
        self._short_drops = self._short_drops + 1 if lived < _SHORT_S or sure else 0
        if not sure and self._short_drops < _SHORT_IN_A_ROW:
            return None
        if not self._taken_over:
            self._taken_over = True
            # Both clients back off to the longest wait: they alternate, slowly, instead of
            # kicking each other off every second.
            slow = max(cfg.reconnect_min_s, cfg.reconnect_max_s)
            client.reconnect_delay_set(slow, slow)
        where = f"broker {cfg.host}:{cfg.port}"
        if cfg.client_id:
            self._last_error = (f"another client uses the MQTT client id {cfg.client_id} on "
                                f"{where}; give each device its own client_id")
        else:
            self._last_error = (f"another device uses the id {self._device_id} on {where}; "
                                "give each device its own [device] id")
        now = time.monotonic()
        if now - self._takeover_logged < _REPEAT_LOG_S:
            return None
        self._takeover_logged = now
        return self._last_error

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason_code: Any, properties: Any) -> None:
        with self._lock:
            self._connected = False
            self._ready.clear()
            self._awaiting.clear()
            # Pending QoS 1 messages stay pending: paho resends them after reconnecting.
            self._sent_qos0.clear()
            if reason_code.is_failure:
                self._last_error = f"disconnected: {reason_code}"
            takeover = self._note_drop(client, reason_code)
            quiet = self._taken_over
        if takeover:
            log.error("%s", takeover)
        elif not self._closed and not quiet:
            log.warning("disconnected from broker %s:%d: %s", self._config.host,
                        self._config.port, reason_code)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int,
                    reason_code: Any, properties: Any) -> None:
        with self._published:
            if mid in self._pending:
                self._pending.discard(mid)
                self._published.notify_all()
            elif mid in self._sent_qos0:
                self._sent_qos0.discard(mid)
            else:
                self._early.add(mid)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        size = len(msg.payload)
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            self._drop_and_ack(msg, "dropped_invalid")
            log.warning("dropped %d-byte message with a non-UTF-8 topic", size)
            return
        if size > self.max_payload:
            self._drop_and_ack(msg, "dropped_oversized")
            log.warning("dropped oversized message on %s: %d bytes > limit %d",
                        topic[:_TOPIC_LOG_CHARS], size, self.max_payload)
            return
        with self._lock:
            session = self._session
        item = Incoming(topic=topic, payload=bytes(msg.payload), retained=bool(msg.retain),
                        received_at=time.time(), qos=msg.qos, mid=msg.mid, session=session)
        try:
            self._inbox.put_nowait(item)
        except queue.Full:
            with self._lock:
                self._counts["dropped_full"] += 1
                dropped = self._counts["dropped_full"]
            if dropped & (dropped - 1) == 0:  # log the 1st, 2nd, 4th, 8th... drop
                log.warning("incoming queue full: dropped message on %s (%d dropped so far)",
                            topic[:_TOPIC_LOG_CHARS], dropped)
            return
        with self._lock:
            self._counts["received"] += 1

    def _drop_and_ack(self, msg: mqtt.MQTTMessage, counter: str) -> None:
        with self._lock:
            self._counts[counter] += 1
        if msg.qos > 0:
            self._client.ack(msg.mid, msg.qos)
