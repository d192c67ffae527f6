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
    """The parts to run, in start order, and up to two MQTT links: the agency broker
    ([mqtt]: request topics only) and the home broker ([owner_mqtt]: the owner channel and
    Home Assistant), each given only to the sides that use it. A link connects once every
    side has subscribed, and `stack` closes it after every side has stopped (it publishes
    `stopped` on the availability topic)."""
    from device.daemon.capture import CaptureSide

    sides: list[Side] = []
    agency = home = None
    if cfg.homeassistant.enabled and not cfg.owner_mqtt.enabled:
        log.error("homeassistant.enabled needs [owner_mqtt] enabled (the home broker): "
                  "Home Assistant status is never sent to the agency broker; it stays off")
    if cfg.uplink.enabled and not cfg.owner_mqtt.enabled:
        log.info("no home broker ([owner_mqtt]): owners decide on the device only")
    if cfg.uplink.enabled or (cfg.owner_mqtt.enabled and cfg.homeassistant.enabled):
        from uplink.mqtt import MqttLink

        if cfg.uplink.enabled:
            # Silent there: readers of the agency broker learn no device id and no times
            # it goes down (docs/protocol.md, "Topics and what they reveal").
            agency = MqttLink(cfg.mqtt, cfg.device.id, announce=False)
        if cfg.owner_mqtt.enabled:
            home = MqttLink(cfg.owner_mqtt.link_config(cfg.device.id), cfg.device.id,
                            settings="[owner_mqtt] host and port")
    status = None
    if cfg.homeassistant.enabled and home is not None:
        from device.daemon.status import StatusSide

        status = StatusSide(cfg, home, consume=agency is None)
        sides.append(status)
    if agency is not None:
        from device.daemon.uplink import UplinkSide

        sides.append(UplinkSide(cfg, agency, home=home,
                                other=status.ha.handle if status else None))
    capture_side = None
    if capture:
        capture_side = CaptureSide(cfg, pace)
        if status is not None:
            capture_side.listener.observers.append(status)
        sides.append(capture_side)
    if cfg.doorbell.enabled:
        from device.daemon.doorbell import DoorbellSide

        # After the capture side: a ring always finds the camera running.
        from device.wiring.paths import DevicePaths
        from device.wiring.ringmark import RingMarker

        doorbell = DoorbellSide(cfg.doorbell)
        # The marker first: the web app pushes the ring from it without waiting for the clip.
        # On tmpfs while the live view's publisher holds its directory (checked there), so a
        # press writes nothing to the SD card; else in the store. The web app watches both.
        live, stored = DevicePaths.of(cfg).rings
        on_tmpfs = capture_side is not None and capture_side.live_feed is not None
        doorbell.observers.append(RingMarker(live if on_tmpfs else stored))
        doorbell.observers.extend(o for o in (capture_side, status) if o is not None)
        sides.append(doorbell)
    if status is not None:
        status.sources = [s for s in sides if s is not status]
    for link in (agency, home):
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
        self._last_status = float("-inf")
        self._was_stale: set[str] = set()
        self._was_down: set[str] = set()

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
        """The sides' clauses, after those of workers that are down (first, so a truncated
        STATUS line still says what is off): "requests: restarting in 5 s after ..."."""
        down = [f"{w.name}: {trouble}" for w in self.workers()
                if (trouble := w.trouble()) is not None]
        return "; ".join([*down, *(side.status() for side in self.sides)])

    def reload(self, cfg: Config) -> None:
        for side in self.sides:
            side.reload(cfg)

    def run(self, stop: threading.Event, reload: threading.Event) -> bool:
        """Until told to stop, once a second: `check`. True if a critical worker failed."""
        while not stop.wait(1.0):
            if reload.is_set():
                reload.clear()
                self._apply_reload()
            if self.check(time.monotonic()):
                return True
        return False

    def check(self, now: float) -> bool:
        """Restart the non-critical workers whose back-off has passed, report status (at
        once when a worker went down or came back), and feed the watchdog only while every
        watched worker is alive and recent, so a hung thread gets the service restarted.
        True if a critical worker failed: the daemon stops, and systemd starts it again."""
        workers = self.workers()
        dead = [w for w in workers if w.error and w.critical]
        if dead:
            log.error("stopping: %s", "; ".join(f"{w.name}: {w.error}" for w in dead))
            return True
        for w in workers:
            w.restart_if_due()
        stale = {w.name for w in workers if w.stale(now)}
        for name in stale - self._was_stale:
            log.error("worker %s is not responding; withholding the watchdog", name)
        self._was_stale = stale
        if self.notifier.watchdog_interval is not None and not stale:
            self.notifier.watchdog()
        down = {w.name for w in workers if w.error}
        if now - self._last_status >= 5.0 or down != self._was_down:
            self._last_status = now
            self._was_down = down
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
