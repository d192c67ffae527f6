"""`doorcam run`: the long-running device daemon."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from config import ConfigError, load_config
from device.daemon.logsetup import priority_prefix, setup_logging, stderr_is_journal
from device.daemon.notify import Notifier
from device.errors import EXIT_CONFIG_DAEMON, EXIT_FAILURE

log = logging.getLogger("doorcam")
LIVE_SECTIONS = ("motion", "recording", "store")  # what SIGHUP applies without a restart


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run the device: camera, motion, clips, agency requests, "
                       "uploads (until SIGTERM)")
    p.add_argument("--config", metavar="FILE", help="config file (TOML)")
    p.add_argument("--no-capture", action="store_true",
                   help="only the request feed and the uploader (no camera)")
    p.add_argument("--speed", default="realtime",
                   help="pacing of a recorded capture.source: realtime (default), max or N")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        prefix = priority_prefix(logging.ERROR) if stderr_is_journal() else ""
        for problem in exc.problems:
            print(f"{prefix}doorcam: config error: {problem}", file=sys.stderr)
        return EXIT_CONFIG_DAEMON
    from device.wiring import build
    stop, reload = threading.Event(), threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, lambda *a: reload.set())
    # Start order: uplink before the camera so no request waits on a busy pipeline; stop
    # order: the camera first (finalizes the open clip), then uploads, then the feed.
    # Crash recovery of the clip store runs once, before any thread opens it.
    build.open_store(cfg).close()
    sides, link = _sides(cfg, args, build.parse_speed(args.speed))
    if not sides:
        log.error("nothing to run: --no-capture and uplink.enabled = false")
        return EXIT_FAILURE
    if link is not None:
        link.start()
    for side in sides:
        side.start()
    notifier = Notifier()
    notifier.ready(_status(sides))
    log.info("doorcam running (device %s)", cfg.device.id)
    running = [cfg]
    failed = _supervise(sides, stop, notifier,
                        lambda: _reload(args.config, running, sides, reload))
    notifier.stopping()
    for side in reversed(sides):
        side.stop()
    if link is not None:
        link.close()  # publishes `stopped` on the availability topic
    log.info("doorcam stopped")
    return EXIT_FAILURE if failed else 0


def _reload(path: str | None, running: list[Any], sides: list[Any],
            event: threading.Event) -> None:
    """SIGHUP: motion, recording and retention settings apply live; the rest is reported."""
    if not event.is_set():
        return
    event.clear()
    from config.diff import changed_settings

    try:
        new = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("reload refused, keeping the running config: %s", problem)
        return
    changed = changed_settings(running[0], new)
    running[0] = new
    live = [k for k, restart in changed if not restart and k.split(".")[0] in LIVE_SECTIONS]
    later = [k for k, _ in changed if k not in live]
    for side in sides:
        if hasattr(side, "reload"):
            side.reload(new)
    log.info("reload: %s applied; %s", ", ".join(live) or "nothing",
             f"needs a restart: {', '.join(later)}" if later else "nothing needs a restart")


def _supervise(sides: list[Any], stop: threading.Event, notifier: Notifier,
               on_tick: Any) -> bool:
    """Until told to stop: report status, and feed the watchdog only while every watched
    worker is alive and recent, so a hung thread gets the service restarted."""
    last_status = 0.0
    was_stale: set[str] = set()
    while not stop.wait(1.0):
        on_tick()
        workers = [w for side in sides for w in _workers(side)]
        dead = [w for w in workers if w.error and w.critical]
        if dead:
            log.error("stopping: %s", "; ".join(f"{w.name}: {w.error}" for w in dead))
            return True
        now = time.monotonic()
        stale = {w.name for w in workers if w.stale(now)}
        for name in stale - was_stale:
            log.error("worker %s is not responding; withholding the watchdog", name)
        was_stale = stale
        if notifier.watchdog_interval is not None and not stale:
            notifier.watchdog()
        if now - last_status >= 5.0:
            last_status = now
            notifier.status(_status(sides))
    return False


def _status(sides: list[Any]) -> str:
    return "; ".join(side.status() for side in sides)


def _sides(cfg: Any, args: argparse.Namespace, pace: float | None) -> tuple[list[Any], Any]:
    """The parts to run, in start order, and the one MQTT link they share (if any)."""
    from device.daemon.capture import CaptureSide

    sides: list[Any] = []
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
    if not args.no_capture:
        capture = CaptureSide(cfg, pace)
        if status is not None:
            capture.listener.observers.append(status)
        sides.append(capture)
    if status is not None:
        status.sources = [s for s in sides if s is not status]
    return sides, link


def _workers(side: Any) -> list[Any]:
    return [getattr(side, n) for n in ("camera", "process", "feed", "uploads", "worker")
            if hasattr(side, n)]
