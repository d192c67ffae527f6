"""The daemon's uplink side: the request feed thread (MQTT ⇄ request desk) and the upload
thread (accepted decisions → tus uploads). Each owns its own connections."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from config import Config
from device.daemon.workers import Worker
from device.wiring.uplink import open_desk, open_worker
from uplink.mqtt import MqttLink
from uplink.protocol import topics_for

log = logging.getLogger("doorcam")


def owner_topics(cfg: Config) -> tuple[str, str]:
    """(decisions topic the owner publishes to, retained pending-summary topic)."""
    base = cfg.mqtt.effective_owner_topic(cfg.device.id)
    return f"{base}/decisions", f"{base}/pending"


class UplinkSide:
    """Receives agency requests and owner decisions; uploads what the owner accepted."""

    SWEEP_S = 5.0  # expiry sweep and owner-summary refresh

    def __init__(self, cfg: Config, link: MqttLink, *, upload_poll_s: float = 2.0,
                 other: Callable[[str, bytes], bool] | None = None) -> None:
        self.cfg = cfg
        self.other = other  # messages on topics that are not ours (Home Assistant's status)
        self.poll = upload_poll_s
        self.decisions_topic, self.pending_topic = owner_topics(cfg)
        self.link = link
        self.request_topics = topics_for(cfg.device.latitude, cfg.device.longitude)
        # Taken before the link connects: it announces `online` only once the broker has
        # confirmed these, so whoever sees `online` may publish a request and be heard.
        self.link.subscribe([*self.request_topics, self.decisions_topic], qos=1)
        self._listening = False
        self.feed = Worker("requests", self._feed_step, on_stop=self._close_feed,
                           max_silence=30.0, critical=False)
        # Not watched: one upload call may legitimately take up to its own total deadline.
        self.uploads = Worker("uploads", self._upload_step, on_stop=self._close_uploads,
                              critical=False)
        self._desk_cm: Any = None
        self._desk: Any = None
        self._worker_cm: Any = None
        self._worker: Any = None
        self._last_sweep = 0.0
        self._summary: bytes | None = None
        self.wake_uploads = threading.Event()

    def start(self) -> None:
        self.feed.start()
        self.uploads.start()

    # -- request feed thread ---------------------------------------------------------
    def _feed_step(self, stop: threading.Event) -> None:
        if self._desk is None:
            self._desk_cm = open_desk(self.cfg, time.time())
            self._desk = self._desk_cm.__enter__()
            self._publish_summary(force=True)
        msg = self.link.get(timeout=0.5)
        self._note_listening()
        now = time.time()
        if msg is not None:
            self._handle(msg, now)
            self.link.ack(msg)  # only now: a crash before this gets the message again
        if now - self._last_sweep >= self.SWEEP_S:
            self._last_sweep = now
            for rid in self._desk.expire(now):
                log.info("request %s expired without a decision; nothing was shared", rid)
            self._publish_summary()

    def _note_listening(self) -> None:
        """Log when the broker has confirmed the subscriptions (again after a reconnect)."""
        listening = self.link.ready
        if listening and not self._listening:
            log.info("listening for agency requests on %d area topics",
                     len(self.request_topics))
        self._listening = listening

    def _handle(self, msg: Any, now: float) -> None:
        from uplink.errors import UplinkError

        if msg.topic not in self.request_topics and msg.topic != self.decisions_topic:
            if self.other is None or not self.other(msg.topic, msg.payload):
                log.warning("message on unexpected topic %s ignored", msg.topic[:80])
            return
        if msg.topic == self.decisions_topic:
            try:
                decision = self._desk.decide_signed(msg.payload, now)
            except UplinkError as exc:
                log.warning("owner decision refused: %s", exc)
                return
            log.info("owner decision over MQTT: %s", decision)
            self.wake_uploads.set()
        else:
            outcome = self._desk.receive(msg.payload, now)
            log.info("agency request: %s", outcome)
        self._publish_summary()

    def _publish_summary(self, force: bool = False) -> None:
        summary = self._desk.owner_summary(time.time())
        if force or summary != self._summary:
            self._summary = summary
            self.link.publish(self.pending_topic, summary, qos=1, retain=True)

    def _close_feed(self) -> None:
        if self._desk_cm is not None:
            self._desk_cm.__exit__(None, None, None)

    # -- upload thread ------------------------------------------------------------------
    def _upload_step(self, stop: threading.Event) -> None:
        if self._worker is None:
            self._worker_cm = open_worker(self.cfg)
            self._worker = self._worker_cm.__enter__()
        for report in self._worker.run_once(stop):
            log.info("upload: %s", report)
        self.wake_uploads.wait(self.poll)
        self.wake_uploads.clear()

    def _close_uploads(self) -> None:
        if self._worker_cm is not None:
            self._worker_cm.__exit__(None, None, None)

    def pending_count(self) -> int:
        import json

        return len(json.loads(self._summary)["pending"]) if self._summary else 0

    def stats(self) -> dict[str, Any]:
        return {"pending": self.pending_count()}

    def workers(self) -> Sequence[Worker]:
        return (self.feed, self.uploads)

    def reload(self, cfg: Config) -> None:
        """Uplink settings apply at the next start (the supervisor names them)."""

    def status(self) -> str:
        broken = [f"{w.name} stopped ({w.error})" for w in (self.feed, self.uploads) if w.error]
        if broken:
            return "agency requests OFF: " + "; ".join(broken)
        pending = self.pending_count()
        return f"{pending} pending request(s), MQTT {self._link_state()}"

    def _link_state(self) -> str:
        if self.link.ready:
            return "connected"
        if not self.link.connected:
            return "broker unreachable"
        error = self.link.status().last_error
        if "subscription refused" in error:
            return f"connected but NOT listening ({error[:200]})"
        return "connected, subscribing"

    def stop(self) -> None:
        self.wake_uploads.set()
        self.uploads.stop(timeout=30.0)
        self.feed.stop()
