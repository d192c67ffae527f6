"""The daemon's uplink side: the request feed thread (MQTT ⇄ request desk) and the upload
thread (accepted decisions → tus uploads). Each owns its own connections."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from config import Config
from device.daemon.inhand import InHand
from device.daemon.workers import Worker
from device.wiring.paths import DevicePaths
from device.wiring.registry import LiveRegistry, renew_command
from device.wiring.uplink import open_desk, open_worker
from uplink.desk import RequestDesk, UploadWorker
from uplink.desk.owner_channel import OwnerChannel
from uplink.mqtt import Incoming, MqttLink
from uplink.protocol import topics_for
from uplink.protocol.canonical import JsonObject

log = logging.getLogger("doorcam")


def owner_channel(cfg: Config) -> OwnerChannel:
    """The device's side of the owner channel, keys loaded (created on first start) here,
    before any thread that signs with them runs."""
    from device.errors import UserError
    from uplink.desk import load_or_create_device_key
    from uplink.desk.keys import device_enc_key_path, load_or_create_device_enc_key
    from uplink.protocol.envelope import x25519_from_text

    paths = DevicePaths.of(cfg)
    try:
        key, kid = load_or_create_device_key(paths.device_key)
        enc = load_or_create_device_enc_key(device_enc_key_path(paths.device_key))
    except (OSError, ValueError) as exc:
        raise UserError(f"device keys beside {paths.device_key}: {exc}") from None
    owners = {o.kid: x25519_from_text(o.encryption_key) for o in cfg.uplink.owners
              if o.encryption_key is not None}
    if not owners:
        log.warning("no owner key has an encryption key (uplink.owner_keys as "
                    "KID:SIGNING_KEY:ENCRYPTION_KEY, from `doorcam owner keygen`): nothing "
                    "is sent to owners, who see requests only on the device")
    return OwnerChannel(cfg.device.id, cfg.owner_mqtt.effective_owner_topic(cfg.device.id),
                        key, kid, enc, owners)


class UplinkSide:
    """Receives agency requests (agency broker) and owner decisions (home broker, if any);
    uploads what the owner accepted."""

    SWEEP_S = 5.0  # expiry sweep and owner-view refresh
    # The view is re-sent this often even unchanged: a retained message overwritten by
    # someone else on the home broker (refused by the owner's tool) does not stay the last.
    REPUBLISH_S = 600.0

    def __init__(self, cfg: Config, link: MqttLink, *, home: MqttLink | None = None,
                 upload_poll_s: float = 2.0,
                 other: Callable[[str, bytes], bool] | None = None) -> None:
        self.cfg = cfg
        self.other = other  # messages on home topics that are not ours (Home Assistant's)
        self.poll = upload_poll_s
        self.link = link
        self.home = home
        self.request_topics = topics_for(cfg.device.latitude, cfg.device.longitude,
                                         cfg.mqtt.requests_topic_base())
        # Taken before the links connect: each announces `online` only once the broker has
        # confirmed these, so whoever sees `online` may publish and be heard.
        self.link.subscribe(list(self.request_topics), qos=1)
        self.channel = owner_channel(cfg) if home is not None else None
        if self.channel is not None and home is not None:
            home.subscribe([self.channel.decisions_topic], qos=1)
        self._listening = False
        # Kept across the feed's runs: a message whose handling failed is handled first.
        self._requests = InHand(link, "agency request")
        self._decisions = InHand(home, "owner decision") if home is not None else None
        self.feed = Worker("requests", self._feed_step, on_stop=self._close_feed,
                           max_silence=30.0, critical=False)
        # Not watched: one upload call may legitimately take up to its own total deadline.
        self.uploads = Worker("uploads", self._upload_step, on_stop=self._close_uploads,
                              critical=False)
        # What each thread opens it closes on stopping, in reverse (its own ExitStack).
        self._feed_open = ExitStack()
        self._desk: RequestDesk | None = None
        self._uploads_open = ExitStack()
        self._worker: UploadWorker | None = None
        self._last_sweep = 0.0
        self._content: JsonObject | None = None
        self._view_sent = 0.0
        self._pending = 0
        self._head: tuple[int, str] | None = None
        self._registry: LiveRegistry | None = None
        self._registry_warnings: list[str] = []
        self._registry_warning = ""  # read by the status and supervisor threads
        self.wake_uploads = threading.Event()

    def start(self) -> None:
        self.feed.start()
        self.uploads.start()

    # -- request feed thread ---------------------------------------------------------
    def _feed_step(self, stop: threading.Event) -> None:
        if self._desk is None:
            self._registry = LiveRegistry(self.cfg, time.time(), audit=True)
            self._desk = self._feed_open.enter_context(
                open_desk(self.cfg, time.time(), self._registry))
            self._check_registry(time.time())
            self._publish_view(self._desk, force=True)
        desk = self._desk
        msg = self._requests.take(0.25 if self._decisions is not None else 0.5)
        self._note_listening()
        if msg is not None:
            self._handle(desk, msg, time.time())
            self._requests.done(msg)  # only now: a failure before this handles it again
        if self._decisions is not None:
            hmsg = self._decisions.take(0.25 if msg is None else 0)
            if hmsg is not None:
                self._handle_home(desk, hmsg, time.time())
                self._decisions.done(hmsg)
        now = time.time()
        if now - self._last_sweep >= self.SWEEP_S:
            self._last_sweep = now
            for rid in desk.expire(now):
                log.info("request %s expired without a decision; nothing was shared", rid)
            self._check_registry(now)
            self._publish_view(desk)
        self._publish_head(desk)

    def _check_registry(self, now: float) -> None:
        """Take a newly installed registry; warn (once per change) before it or a key expires."""
        assert self._registry is not None  # made with the desk, on this thread
        self._registry.refresh(now)
        warnings = self._registry.warnings(now)
        if warnings != self._registry_warnings:
            self._registry_warnings = warnings
            if warnings:
                log.warning("agency registry: %s; get a newer one from its signer (%s)",
                            "; ".join(warnings), renew_command(DevicePaths.of(self.cfg)))
        self._registry_warning = "; ".join(warnings)

    def _note_listening(self) -> None:
        """Log when the broker has confirmed the subscriptions (again after a reconnect)."""
        listening = self.link.ready
        if listening and not self._listening:
            log.info("listening for agency requests on %s", ", ".join(self.request_topics))
        self._listening = listening

    def _handle(self, desk: RequestDesk, msg: Incoming, now: float) -> None:
        if msg.topic not in self.request_topics:
            log.warning("message on unexpected topic %s ignored", msg.topic[:80])
            return
        outcome = desk.receive(msg.payload, now)
        log.info("agency request: %s", outcome)
        self._publish_view(desk)

    def _handle_home(self, desk: RequestDesk, msg: Incoming, now: float) -> None:
        from uplink.errors import UplinkError

        if self.channel is None or msg.topic != self.channel.decisions_topic:
            if self.other is None or not self.other(msg.topic, msg.payload):
                log.warning("message on unexpected topic %s ignored", msg.topic[:80])
            return
        try:
            decision = self.channel.decide(desk, msg.payload, now)
        except UplinkError as exc:
            log.warning("owner decision refused: %s", str(exc)[:300])
            return
        log.info("owner decision over MQTT: %s %s", decision.verdict, decision.request_id)
        self.wake_uploads.set()
        self._publish_view(desk)

    def _publish_view(self, desk: RequestDesk, force: bool = False) -> None:
        now = time.time()
        if self.channel is None:
            self._pending = len(desk.pending(now))
            return
        content = self.channel.content(desk, now)
        self._pending = len(desk.pending(now))
        if force or content != self._content or \
                time.monotonic() - self._view_sent >= self.REPUBLISH_S:
            self._content = content
            self._view_sent = time.monotonic()
            sealed = self.channel.view(content, now)
            if sealed is not None and self.home is not None:
                self.home.publish(self.channel.view_topic, sealed, qos=1, retain=True)

    def _publish_head(self, desk: RequestDesk) -> None:
        """After every append (by either thread), the signed head goes to the owners."""
        if self.channel is None or self.home is None:
            return
        head = desk.audit.head()
        if head != self._head:
            self._head = head
            sealed = self.channel.head(head[0], head[1], time.time())
            if sealed is not None:
                self.home.publish(self.channel.head_topic, sealed, qos=1, retain=True)

    def _close_feed(self) -> None:
        """Everything the feed thread opened goes; a restarted run opens it all again, says
        when it listens, and re-sends the owner view and the audit head."""
        try:
            self._feed_open.close()
        finally:
            self._feed_open = ExitStack()
            self._desk = None
            self._registry = None
            self._listening = False
            self._content = None
            self._head = None

    # -- upload thread ------------------------------------------------------------------
    def _upload_step(self, stop: threading.Event) -> None:
        if self._worker is None:
            self._worker = self._uploads_open.enter_context(open_worker(self.cfg))
        for report in self._worker.run_once(stop):
            log.info("upload: %s", report)
        self.wake_uploads.wait(self.poll)
        self.wake_uploads.clear()

    def _close_uploads(self) -> None:
        try:
            self._uploads_open.close()
        finally:
            self._uploads_open = ExitStack()
            self._worker = None  # a restarted run opens its own

    def pending_count(self) -> int:
        return self._pending

    def stats(self) -> dict[str, Any]:
        # A count, not the text: the warning names agencies and keys, and stats go to the
        # home broker; the journal and the STATUS line say which.
        return {"pending": self.pending_count(),
                "registry_warnings": len(self._registry_warnings)}

    def workers(self) -> Sequence[Worker]:
        return (self.feed, self.uploads)

    def reload(self, cfg: Config) -> None:
        """Uplink settings apply at the next start (the supervisor names them)."""

    def status(self) -> str:
        # A worker that is down says why in the supervisor's clause for it.
        off = [what for w, what in ((self.feed, "agency requests"), (self.uploads, "uploads"))
               if w.error]
        down = f"{' and '.join(off)} OFF, " if off else ""
        pending = self.pending_count()
        home = "" if self.home is None else (
            ", home broker " + ("connected" if self.home.ready else "not ready"))
        registry = f", REGISTRY: {self._registry_warning}" if self._registry_warning else ""
        return (f"{down}{pending} pending request(s), MQTT {self._link_state()}{home}"
                f"{registry}")

    def _link_state(self) -> str:
        if self.link.ready:
            return "connected"
        if not self.link.connected:
            return "broker unreachable"
        status = self.link.status()
        if status.refused:
            return f"connected but NOT listening ({status.last_error[:200]})"
        return "connected, subscribing"

    def stop(self) -> None:
        self.wake_uploads.set()
        self.uploads.stop(timeout=30.0)
        self.feed.stop()
