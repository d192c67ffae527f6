"""The daemon's supervisor: builds the sides, starts and stops them in one explicit order,
reports to systemd and feeds its watchdog only while every worker is alive and recent."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence

from config import Config, ConfigError, load_config
from device.daemon.notify import Notifier
from device.daemon.side import Side
from device.daemon.workers import Worker, running_workers

log = logging.getLogger("doorcam")
LIVE_SECTIONS = ("motion", "recording", "store")  # what SIGHUP applies without a restart


class UnwatchedWorker(RuntimeError):
    """A side started a thread it does not list in `workers()`: the watchdog could not see
    it hang, so the daemon refuses to run."""


def build_sides(cfg: Config, *, capture: bool, pace: float | None,
                stack: contextlib.ExitStack) -> list[Side]:
    """The parts to run, in start order. The MQTT link they share connects once every side
    has subscribed, and `stack` closes it after every side has stopped (it publishes
    `stopped` on the availability topic)."""
    from device.daemon.capture import CaptureSide

    sides: list[Side] = []
    link = None
    if cfg.uplink.enabled or cfg.homeassistant.enabled:
        from uplink.mqtt import MqttLink

        link = MqttLink(cfg.mqtt, cfg.device.id)
    status = None
    if cfg.homeassistant.enabled:
        from device.daemon.status import StatusSide

        status = StatusSide(cfg, link, consume=not cfg.uplink.enabled)
        sides.append(status)
    if cfg.uplink.enabled:
        from device.daemon.uplink import UplinkSide

        assert link is not None
        sides.append(UplinkSide(cfg, link, other=status.ha.handle if status else None))
    if capture:
        capture_side = CaptureSide(cfg, pace)
        if status is not None:
            capture_side.listener.observers.append(status)
        sides.append(capture_side)
    if status is not None:
        status.sources = [s for s in sides if s is not status]
    if link is not None:
        # Only now: every side has given its topics, and `online` waits for their SUBACKs.
        link.start()
        stack.callback(link.close)
    return sides


class Supervisor:
    def __init__(self, sides: Sequence[Side], notifier: Notifier, *,
                 reload_config: Callable[[], Config | None] | None = None) -> None:
        self.sides = list(sides)
        self.notifier = notifier
        self._reload_config = reload_config

    def start(self, stack: contextlib.ExitStack) -> None:
        """Start every side (stopped by `stack` in reverse order) and check that each
        thread they started is one the watchdog sees."""
        for side in self.sides:
            side.start()
            stack.callback(side.stop)
        unlisted = running_workers() - set(self.workers())
        if unlisted:
            raise UnwatchedWorker("threads started but not listed by their side: "
                                  + ", ".join(sorted(w.name for w in unlisted)))
        self.notifier.ready(self.status())

    def workers(self) -> list[Worker]:
        return [w for side in self.sides for w in side.workers()]

    def status(self) -> str:
        return "; ".join(side.status() for side in self.sides)

    def reload(self, cfg: Config) -> None:
        for side in self.sides:
            side.reload(cfg)

    def run(self, stop: threading.Event, reload: threading.Event) -> bool:
        """Until told to stop: report status, and feed the watchdog only while every watched
        worker is alive and recent, so a hung thread gets the service restarted. True if a
        critical worker failed."""
        last_status = 0.0
        was_stale: set[str] = set()
        while not stop.wait(1.0):
            if reload.is_set():
                reload.clear()
                self._apply_reload()
            workers = self.workers()
            dead = [w for w in workers if w.error and w.critical]
            if dead:
                log.error("stopping: %s", "; ".join(f"{w.name}: {w.error}" for w in dead))
                return True
            now = time.monotonic()
            stale = {w.name for w in workers if w.stale(now)}
            for name in stale - was_stale:
                log.error("worker %s is not responding; withholding the watchdog", name)
            was_stale = stale
            if self.notifier.watchdog_interval is not None and not stale:
                self.notifier.watchdog()
            if now - last_status >= 5.0:
                last_status = now
                self.notifier.status(self.status())
        return False

    def _apply_reload(self) -> None:
        if self._reload_config is not None:
            new = self._reload_config()
            if new is not None:
                self.reload(new)


class ConfigReloader:
    """SIGHUP: motion, recording and retention settings apply live; the rest is reported."""

    def __init__(self, path: str | None, running: Config) -> None:
        self.path = path
        self.running = running

    def __call__(self) -> Config | None:
        from config.diff import changed_settings

        try:
            new = load_config(self.path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload refused, keeping the running config: %s", problem)
            return None
        changed = changed_settings(self.running, new)
        self.running = new
        live = [k for k, restart in changed
                if not restart and k.split(".")[0] in LIVE_SECTIONS]
        later = [k for k, _ in changed if k not in live]
        log.info("reload: %s applied; %s", ", ".join(live) or "nothing",
                 f"needs a restart: {', '.join(later)}" if later
                 else "nothing needs a restart")
        return new
