"""The daemon's status side: motion, last event, stats and Home Assistant discovery on the
home broker ([owner_mqtt]; never the agency broker). Publishing is thread-safe; this thread
only sends stats on a timer."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from config import Config
from device.daemon.homeassistant import HomeAssistant
from device.daemon.side import Side
from device.daemon.workers import Worker
from device.wiring.pipeline import MotionEventRecord


class StatusSide:
    def __init__(self, cfg: Config, link: Any, *, consume: bool) -> None:
        self.cfg = cfg
        self.link = link
        self.ha = HomeAssistant(cfg.homeassistant, cfg.owner_mqtt.link_config(cfg.device.id),
                                cfg.device.id, link, doorbell=cfg.doorbell.enabled,
                                people=cfg.people.enabled)
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
        if self.consume:
            msg = self.link.get(timeout=1.0)
            if msg is not None:
                self.ha.handle(msg.topic, msg.payload)
                self.link.ack(msg)
        else:
            stop.wait(1.0)
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
        self.ha.motion(True)

    def event_ended(self, ev: MotionEventRecord) -> None:
        self.ha.motion(False)
        if ev.person:
            self.ha.person(False)
        self.ha.event(_event_info(ev))

    def person_seen(self, ev: MotionEventRecord) -> None:
        if ev.end_frame < 0:  # still going: a person is at the door now
            self.ha.person(True)
        else:  # a late answer: the event is over, its record gains the label
            self.ha.event(_event_info(ev))

    def clip_stored(self, clip: Any) -> None:
        thumb = self.store / "thumbs" / f"{clip.id}.jpg"
        if self.cfg.homeassistant.snapshots and thumb.exists():
            self.ha.snapshot(thumb.read_bytes())

    # Called from the doorbell thread.
    def ring(self, wall: float) -> None:
        self.ha.ring()

    def workers(self) -> Sequence[Worker]:
        return (self.worker,)

    def reload(self, cfg: Config) -> None:
        """Home Assistant settings apply at the next start (the supervisor names them)."""

    def status(self) -> str:
        state = "connected" if self.link.connected else "unreachable"
        return f"status on the home broker {state}"

    def stop(self) -> None:
        self.worker.stop()


def _event_info(ev: MotionEventRecord) -> dict[str, Any]:
    return {"event": ev.id, "start": _iso(ev.start_wall), "end": _iso(ev.end_wall),
            "peak_score": round(ev.peak_score, 4), "clips": ev.clips,
            "labels": list(ev.labels)}


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
