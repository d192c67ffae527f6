"""The daemon's status side: motion, last event, stats, rings, the camera and Home Assistant
discovery on the home broker ([owner_mqtt]; never the agency broker). Publishing is
thread-safe; this thread sends stats and the camera's pictures on their timers."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from config import Config
from device.daemon.hacamera import CameraFeed
from device.daemon.homeassistant import HomeAssistant
from device.daemon.side import Side
from device.daemon.workers import Worker
from device.wiring.paths import current_snapshot
from device.wiring.pipeline import MotionEventRecord

log = logging.getLogger("doorcam")
BIRTH_PICTURE_S = 2.0  # Home Assistant restarted: a picture once it has subscribed again


class StatusSide:
    def __init__(self, cfg: Config, link: Any, *, consume: bool) -> None:
        self.cfg = cfg
        self.link = link
        ha = cfg.homeassistant
        camera = ha.camera and cfg.live.enabled
        if ha.camera and not camera:
            log.warning("homeassistant.camera needs [live] enabled (its snapshot is the "
                        "picture); the camera entity stays off")
        self.ha = HomeAssistant(ha, cfg.owner_mqtt.link_config(cfg.device.id),
                                cfg.device.id, link, doorbell=cfg.doorbell.enabled,
                                people=cfg.people.enabled, camera=camera)
        self.camera = CameraFeed(current_snapshot(cfg), self, interval_s=ha.camera_interval_s,
                                 max_bytes=ha.camera_max_kb * 1024) if camera else None
        if self.camera is not None:
            feed = self.camera
            self.ha.on_birth = lambda: feed.soon(BIRTH_PICTURE_S)
        # Taken before the link connects, so its `online` waits for this SUBACK too. Without
        # an uplink our thread consumes; with one, its feed thread hands us these.
        self.link.subscribe([self.ha.ha_status_topic], qos=1)
        self.store = Path(cfg.store.path).expanduser()
        self.consume = consume  # no uplink thread to pass us Home Assistant's birth message
        self.sources: list[Side] = []  # the other sides, whose numbers we publish
        self._next_stats = 0.0
        self.worker = Worker("status", self._step, max_silence=30.0, critical=False)

    def start(self) -> None:
        self.ha.republish()
        self.ha.motion(False)
        if self.cfg.people.enabled:
            self.ha.person(False)
        self.worker.start()

    def _step(self, stop: threading.Event) -> None:
        # A ring's picture waiting for the next snapshot goes within a tenth of a second.
        wait = 0.1 if self.camera is not None and self.camera.pending else 1.0
        if self.consume:
            msg = self.link.get(timeout=wait)
            if msg is not None:
                self.ha.handle(msg.topic, msg.payload)
                self.link.ack(msg)
        else:
            stop.wait(wait)
        if self.camera is not None:
            self.camera.tick()
        now = time.monotonic()
        if now >= self._next_stats:
            self._next_stats = now + self.cfg.homeassistant.stats_interval_s
            self.ha.stats(self.stats())

    def stats(self) -> dict[str, Any]:
        try:
            free_mb = shutil.disk_usage(self.store).free // 1_000_000
        except OSError:
            free_mb = None
        out: dict[str, Any] = {"free_mb": free_mb, "pending": 0, "at": int(time.time())}
        for side in self.sources:
            out.update(side.stats())
        return out

    # Called from the motion thread (publish is thread-safe).
    def event_started(self, ev: MotionEventRecord) -> None:
        if self.camera is not None:  # the picture first: an automation on motion shows it
            self.camera.trigger()
        self.ha.motion(True)

    def event_ended(self, ev: MotionEventRecord) -> None:
        self.ha.motion(False)
        if ev.person:
            self.ha.person(False)
        self.ha.event(_event_info(ev))

    def person_seen(self, ev: MotionEventRecord) -> None:
        if ev.end_frame < 0:  # still going: a person is at the door now
            if self.camera is not None:  # the picture first, as for motion and rings
                self.camera.trigger()
            self.ha.person(True)
        else:  # a late answer: the event is over, its record gains the label
            self.ha.event(_event_info(ev))

    def clip_stored(self, clip: Any) -> None:
        meta = clip.meta
        if meta.trigger == "ring":  # the doorbell's clip is the last event, of kind ring
            self.ha.event({"kind": "ring", "start": _iso(meta.start_wall),
                           "end": _iso(meta.end_wall), "clips": [clip.id]})
        thumb = self.store / "thumbs" / f"{clip.id}.jpg"
        if self.cfg.homeassistant.snapshots and thumb.exists():
            self.ha.snapshot(thumb.read_bytes())

    # Called from the doorbell thread.
    def ring(self, wall: float) -> None:
        if self.camera is not None:  # the picture first: an automation on the ring shows it
            self.camera.trigger()
        self.ha.ring(_iso(wall))

    # The camera feed's sink (any thread).
    def camera_image(self, jpeg: bytes) -> None:
        # Never queued while the broker is away: a late picture would not be the door now.
        if self.link.connected:
            self.ha.camera_image(jpeg)

    def camera_available(self, available: bool) -> None:
        self.ha.camera_available(available)

    def workers(self) -> Sequence[Worker]:
        return (self.worker,)

    def reload(self, cfg: Config) -> None:
        """Home Assistant settings apply at the next start (the supervisor names them)."""

    def status(self) -> str:
        state = "connected" if self.link.connected else "unreachable"
        return f"status on the home broker {state}"

    def stop(self) -> None:
        self.worker.stop()
        if self.camera is not None:  # before the link closes: no picture comes any more
            self.ha.camera_available(False)


def _event_info(ev: MotionEventRecord) -> dict[str, Any]:
    return {"kind": "person" if "person" in ev.labels else "motion",
            "event": ev.id, "start": _iso(ev.start_wall), "end": _iso(ev.end_wall),
            "peak_score": round(ev.peak_score, 4), "clips": ev.clips,
            "labels": list(ev.labels)}


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
