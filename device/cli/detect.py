"""`doorcam detect SOURCE --frames-csv OUT.csv`: the detector alone, as fast as it can.

The CSV is the interface benchmarks and accuracy evaluation use; keep its columns stable:
frame (0-based, source order), motion (0/1 after the guards), event (0/1 after persistence and
hysteresis), score (moving fraction of the analysed area), boxes (`x y w h` in 0..1 frame
fractions, `;`-separated), people (people found by the people stage in that frame; empty
where it did not check the frame: it checks frames with motion in an event, at
people.checks_per_second, and the next such frame after a sighting), people_boxes (theirs,
as boxes are).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from typing import Any

from capture.frame import SourceError
from config import load_config
from device.cli.outputs import check_source, open_output
from device.errors import input_damage

COLUMNS = ("frame", "motion", "event", "score", "boxes", "people", "people_boxes")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("detect", help="run the motion detector alone and write per-frame CSV")
    p.add_argument("source", help="video file, image folder, printf pattern (in%%06d.jpg), "
                   "camera:N or rtsp://..., or synthetic:NAME")
    p.add_argument("--frames-csv", metavar="OUT.csv", help="one row per source frame")
    p.add_argument("--config", metavar="FILE", help="config file (TOML)")
    p.set_defaults(run=run)


def format_boxes(boxes: Any) -> str:
    return ";".join(" ".join(f"{v:.4f}" for v in box) for box in boxes)


def run(args: argparse.Namespace) -> int:
    from device.wiring import build
    from device.wiring.people import Inline, confirmed
    check_source(args.source)
    cfg = load_config(args.config)
    people = build.make_people_stage(cfg, Inline)
    event_id: int | None = None
    hits: list[list[tuple[float, float, float, float]]] = []  # this event's sightings
    checked = people_busy = 0.0
    out = open_output(args.frames_csv, "--frames-csv", source=args.source, newline="")
    try:
        source = build.open_frames(cfg, args.source, pace=None)
    except BaseException:
        if out:
            out.close()
        raise
    writer = csv.writer(out) if out else None
    if writer:
        writer.writerow(COLUMNS)
    detector = None
    frames = events = 0
    busy = 0.0
    start = time.perf_counter()
    try:
        for frame in source.frames():
            if detector is None:
                h, w = frame.lores.shape[:2]
                detector = build.make_detector(cfg, h, w)
            t0 = time.perf_counter()
            r = detector.process(frame.lores, frame.pts, frame.exposure_changed)
            busy += time.perf_counter() - t0
            frames += 1
            if r.transition is not None and r.transition.kind == "start":
                events += 1
                event_id = r.transition.event_id
                hits = []
            count, found_boxes = "", ""
            if (people is not None and r.event_active and event_id is not None
                    and people.offer(frame, r, event_id) is not None):
                found = people.results()[0]
                checked += 1
                people_busy += found.seconds
                count, found_boxes = str(len(found.boxes)), format_boxes(found.boxes)
                if found.boxes and not confirmed(hits, cfg.people.min_hits):
                    hits.append(list(found.boxes))
                    if not confirmed(hits, cfg.people.min_hits):
                        people.confirm(event_id)  # as the device does: look again at once
            if writer:
                writer.writerow((frame.seq, int(r.motion), int(r.event_active),
                                 f"{r.score:.5f}", format_boxes(r.boxes), count, found_boxes))
    finally:
        source.close()
        if out:
            out.close()
    if frames == 0:
        raise SourceError(f"{args.source}: no frames")
    damage = input_damage(source, args.source)
    wall = time.perf_counter() - start
    print(f"{frames} frames, {events} event(s) in {wall:.2f} s: {frames / wall:.0f} frames/s "
          f"overall, {frames / max(busy, 1e-9):.0f} frames/s in the detector", file=sys.stderr)
    if checked:
        print(f"people stage: {checked:.0f} check(s), {people_busy / checked * 1000:.1f} ms "
              f"each", file=sys.stderr)
    if damage:
        raise damage
    return 0
