"""`doorcam run`: the long-running device daemon."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

from config import ConfigError
from device.daemon.logsetup import priority_prefix, setup_logging, stderr_is_journal
from device.daemon.notify import Notifier
from device.errors import EXIT_CONFIG_DAEMON, EXIT_FAILURE, UserError

log = logging.getLogger("doorcam")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run the device: camera, motion, clips, agency requests, "
                       "uploads (until SIGTERM)")
    p.add_argument("--config", metavar="FILE", help="config file (TOML)")
    p.add_argument("--no-capture", action="store_true",
                   help="only the request feed and the uploader (no camera)")
    p.add_argument("--speed", default="realtime",
                   help="pacing of a recorded capture.source: realtime (default), max or N")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING"),
                   help="least severe messages logged (default INFO)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    from device.wiring import build
    from device.wiring.checks import load_checked

    try:
        pace = build.parse_speed(args.speed)
    except ValueError as exc:
        raise UserError(str(exc)) from None

    try:
        # Every configuration error stops here, before any thread, with exit 78: systemd
        # does not restart a daemon whose config cannot work (RestartPreventExitStatus=78).
        cfg, checked = load_checked(args.config, capture=not args.no_capture)
    except ConfigError as exc:
        prefix = priority_prefix(logging.ERROR) if stderr_is_journal() else ""
        for problem in exc.problems:
            print(f"{prefix}doorcam: config error: {problem}", file=sys.stderr)
        return EXIT_CONFIG_DAEMON
    for warning in checked.warnings:
        log.warning("%s", warning)
    for note in checked.notes:
        log.info("%s", note)
    from device.daemon.supervisor import ConfigReloader, Supervisor, build_sides

    stop, reload = threading.Event(), threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, lambda *a: reload.set())
    # Start order: uplink before the camera so no request waits on a busy pipeline; stop
    # order (the stack, in reverse): the camera first (finalizes the open clip), then
    # uploads, then the feed, then the MQTT link. Crash recovery of the clip store runs
    # once, before any thread opens it.
    with build.open_store(cfg) as store:
        report = store.recovery
    if report.skipped:
        log.warning("clip store %s is in use by another process (a doorcam command?): crash "
                    "recovery waits for the next start", store.root)
    elif report.changed:
        log.info("clip store %s", report.summary())
    build.ensure_device_keys(cfg)
    notifier = Notifier()
    with contextlib.ExitStack() as stack:
        sides = build_sides(cfg, capture=not args.no_capture,
                            pace=pace, stack=stack)
        if not sides:
            log.error("nothing to run: --no-capture and uplink.enabled = false")
            return EXIT_FAILURE
        supervisor = Supervisor(sides, notifier,
                                reload_config=ConfigReloader(args.config, cfg))
        supervisor.start(stack)
        log.info("doorcam running (device %s)", cfg.device.id)
        failed = supervisor.run(stop, reload)
        notifier.stopping()
    log.info("doorcam stopped")
    return EXIT_FAILURE if failed else 0
