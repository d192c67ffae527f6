"""`doorcam simulate SOURCE`: the whole local loop on recorded video or a synthetic scene."""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import sys
import threading
import time
from types import FrameType
from typing import IO, Any

from capture.frame import SourceError
from config import load_config
from device.cli.outputs import check_source, open_output
from device.cli.progress import Progress
from device.cli.table import clip_table
from device.errors import EXIT_FAILURE, UserError, input_damage
from device.wiring.pipeline import LocalLoop, MotionEventRecord

# `doorcam run` defaults to the Pi camera; a simulation needs no hardware.
DEFAULT_SOURCE = "synthetic:porch"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "simulate",
        help="run motion detection and recording on a video file, image sequence or "
        "synthetic scene",
    )
    p.add_argument("source", nargs="?", help="video file, image folder, printf pattern "
                   "(in%%06d.jpg) or synthetic:NAME (default: capture.source from the config "
                   f"when it is one of these, else {DEFAULT_SOURCE})")
    p.add_argument("--speed", default="max", help="realtime, max, or N (N× real time); "
                   "default max")
    p.add_argument("--store", metavar="DIR", help="clip store directory (default: store.path)")
    p.add_argument("--config", metavar="FILE", help="config file (TOML)")
    p.add_argument("--events-jsonl", metavar="FILE", help="write one JSON object per event")
    p.add_argument("--quiet", action="store_true", help="no progress bar or event lines")
    p.set_defaults(run=run)


class _Terminated(Exception):
    pass


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


class _Report:
    """Prints events as they happen and writes the JSONL file."""

    def __init__(self, progress: Progress | None, jsonl: IO[str] | None) -> None:
        self.progress = progress
        self.jsonl = jsonl
        self.clips: list[str] = []
        self.events = 0
        self.people = 0

    def _say(self, line: str) -> None:
        if self.progress:
            self.progress.message(line)

    def event_started(self, ev: MotionEventRecord) -> None:
        self.events += 1
        self._say(f"motion event {ev.id} started at {ev.start:7.2f} s (frame {ev.start_frame})")

    def event_ended(self, ev: MotionEventRecord) -> None:
        clip = f" in clip {', '.join(ev.clips)}" if ev.clips else ""
        self._say(f"motion event {ev.id} ended   at {ev.end:7.2f} s (frame {ev.end_frame}), "
                  f"peak {ev.peak_score:.1%} of the view{clip}")
        if self.jsonl:
            self.jsonl.write(json.dumps(ev.to_json()) + "\n")
            self.jsonl.flush()

    def person_seen(self, ev: MotionEventRecord) -> None:
        self.people += 1
        self._say(f"person seen in motion event {ev.id} (frame {ev.person_frame})")

    def clip_stored(self, clip: Any) -> None:
        self.clips.append(clip.id)
        self._say(f"clip stored: {clip.id}")


def run(args: argparse.Namespace) -> int:
    from capture.sources import is_simulated
    from device.wiring import build

    try:
        pace = build.parse_speed(args.speed)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    check_source(args.source)
    cfg = build.with_store_path(load_config(args.config), args.store)
    spec = args.source or (cfg.capture.source if is_simulated(cfg.capture.source)
                           else DEFAULT_SOURCE)
    jsonl = open_output(args.events_jsonl, "--events-jsonl", source=args.source)
    store = build.open_store(cfg)
    source = build.open_frames(cfg, spec, pace)
    progress = None if args.quiet else Progress(source.info.frames)
    report = _Report(progress, jsonl)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    failures = 0
    try:
        failures = _run_loop(cfg, source, store, report, progress,
                             simulated=is_simulated(spec), pace=pace)
    except _Terminated:
        print("doorcam: terminated; the open clip was finalized", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
        source.close()
        if jsonl:
            jsonl.close()
    if not args.quiet:
        print(clip_table(store, report.clips, report.events))
    store.close()
    damage = input_damage(source, spec)
    if damage:
        raise damage
    return EXIT_FAILURE if failures else 0


def _run_loop(cfg: Any, source: Any, store: Any, report: _Report,
              progress: Progress | None, *, simulated: bool, pace: float | None) -> int:
    from capture.recording import RecordingError
    from device.daemon.clock import ClockWatch
    from device.daemon.people import PeopleThread
    from device.wiring import build
    from device.wiring.people import Inline, PeopleStage, Runner
    frames = iter(source.frames())
    first = next(frames, None)
    if first is None:
        raise SourceError(f"{source.info.name or 'source'}: no frames")
    height, width = first.lores.shape[:2]
    detector = build.make_detector(cfg, height, width)
    live = build.make_live(cfg)
    recorder = build.make_recorder(cfg, source.info, store, simulated=simulated,
                                   clock=ClockWatch().stamp, live=live)
    # Paced, the people stage runs on its own thread as on the device; as fast as the
    # machine can go, the loop waits for each check, so a run's labels do not depend on how
    # busy the machine is (a sighting is confirmed at the next frame, which must not have
    # raced ahead of the detector).
    people: PeopleThread | None = None
    runner: Runner | None = None
    if cfg.people.enabled:
        detector_p = build.make_people_detector_for(cfg)
        if pace is None:
            runner = Inline(detector_p)
        else:
            runner = people = PeopleThread(detector_p)
            people.start()
    loop = LocalLoop(detector, recorder, report, labels=store,
                     people=PeopleStage(cfg.people, runner) if runner else None)
    failures = 0
    publishing = _LiveThread(live) if live is not None else None
    try:
        for frame in itertools.chain([first], frames):
            try:
                loop.feed(frame)
            except RecordingError as exc:
                # The device keeps watching: this clip is lost, earlier ones are intact.
                failures += 1
                report._say(f"doorcam: recording failed: {exc}")
            if progress:
                progress.update(loop.frames, loop.last_pts)
    finally:
        loop.close()
        if people is not None:
            people.stop()
        if publishing is not None:
            publishing.stop()
        for removed in store.prune(time.time()):
            report._say(f"retention: deleted clip {removed}")
        if progress:
            progress.finish(loop.frames, loop.last_pts)
    return failures




class _LiveThread:
    """The live view's thread for a simulation (the daemon runs it as a worker): it owns
    the live directory and publishes what the recorder's tap queued."""

    def __init__(self, feed: Any) -> None:
        self.feed = feed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.feed.step(timeout=0.25)
        finally:
            self.feed.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
