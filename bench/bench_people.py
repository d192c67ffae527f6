"""Benchmark the people stage: does an event have a person, how soon, and at what cost.

    python bench/bench_people.py [--data DIR] [--out FILE.json]

REAL footage: wavingtrees (a person walks in close at frame 242, facing the camera, cut off
by the frame), highway (cars only), traffic (cars only, 720p H.264), issue53 (a residential
camera's street: light changes only), and issue53 at night with headlights swept over it
(real pixels relit: capture.sources.relit; the sweeps are synthetic); issue53 in moderate
daylight rain and in heavy rain at night under the IR illuminator, and wavingtrees in heavy
daylight rain (real pixels + synthetic rain: capture.sources.rain). SYNTHETIC scenes
(capture's synthetic:NAME) draw their visitors as shapes, which a people detector may rightly
not take for people: they are scored apart, and the real footage is the judge.

Figures: precision and recall of "this event had a person" (an event had one when any of
its frames shows a person); frames from a person's first appearance to the `person` label;
the people stage's CPU time per check (cutting the region included) and per event as ratios
to the motion detector's CPU time per frame in the same run (CPU, not wall time: OpenCV runs
the detectors on several threads, which a busy machine stretches); and the whole pipeline's
CPU with the stage on and off on a 1080p H.264 file (`doorcam simulate`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_motion import video  # noqa: E402
from capture.frame import Frame  # noqa: E402
from capture.privacy import PrivacyMask  # noqa: E402
from capture.sources import open_source  # noqa: E402
from capture.sources.rain import rained, rained_night  # noqa: E402
from capture.sources.relit import looped, relit  # noqa: E402
from capture.sources.synthetic import SyntheticSource  # noqa: E402
from config import CaptureConfig, MotionConfig  # noqa: E402
from config.people import PeopleConfig  # noqa: E402
from device.wiring.people import Inline, PeopleStage, confirmed  # noqa: E402
from motion import MotionDetector  # noqa: E402
from motion.people import make_people_detector  # noqa: E402

ISSUE53_MASK = [[[0.0, 0.03], [0.31, 0.03], [0.31, 0.095], [0.0, 0.095]],
                [[0.70, 0.87], [0.86, 0.87], [0.86, 0.935], [0.70, 0.935]]]
TRAFFIC_ZONE = (631, 532, 210, 127)
# The README's example privacy mask for the pavement along the bottom of the picture.
BOTTOM_BAND = [[[0.0, 0.85], [1.0, 0.85], [1.0, 1.0], [0.0, 1.0]]]
SYNTHETIC = ("porch", "approach", "lights", "empty", "night", "headlights", "night-visitor")


class Picture:
    def __init__(self, bgr: np.ndarray) -> None:
        self._bgr = bgr

    def to_bgr(self) -> np.ndarray:
        return self._bgr


@dataclass
class Clip:
    name: str
    real: bool
    frames: Callable[[], Iterable[Frame]]
    truth: Callable[[int], bool]  # a person shows in this frame
    motion: MotionConfig = field(default_factory=MotionConfig)


@dataclass
class Event:
    start: int
    end: int = -1
    person: bool = False  # the truth: a person shows in one of its frames
    label_frame: int = -1  # where the stage labelled it `person`; -1: never
    checks: int = 0
    check_s: float = 0.0
    hits: list[list[tuple[float, float, float, float]]] = field(default_factory=list)


def source_frames(spec: str, width: int = 320,
                  privacy: PrivacyMask | None = None) -> Callable[[], Iterable[Frame]]:
    def frames() -> Iterable[Frame]:
        src = open_source(spec, CaptureConfig(lores_width=width), pace=None, privacy=privacy)
        try:
            yield from src.frames()
        finally:
            src.close()
    return frames


def street(path: Path) -> list[np.ndarray]:
    """issue53's frames, gray, at 320x360 (its own 12 frames/s)."""
    return video(path)[0]


def gray_frames(make: Callable[[], list[np.ndarray]],
                fps: float) -> Callable[[], Iterable[Frame]]:
    """Frames of the gray pictures `make` returns (made once, on first use), each both the
    lores image and the full picture."""
    made: list[np.ndarray] = []

    def frames() -> Iterable[Frame]:
        if not made:
            made.extend(make())
        for seq, gray in enumerate(made):
            yield Frame(seq, seq / fps, seq / fps, 0.0, gray,
                        Picture(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)))
    return frames


def night_frames(path: Path) -> Callable[[], Iterable[Frame]]:
    return gray_frames(lambda: relit(street(path), 12.0), 12.0)


def rain_clips(data: Path) -> list[Clip]:
    """Real pixels + synthetic rain: 26 s of issue53's street (played forwards and back, as
    relit plays it) by day and at night, and wavingtrees once through."""
    issue53 = data / "dvrscan" / "issue53_brightness_change.avi"
    wavingtrees = data / "wavingtrees" / "input"

    def waving() -> list[np.ndarray]:
        real = [f.lores for f in source_frames(str(wavingtrees))()]
        return rained(real, 15.0, "heavy", seed=3)

    return [
        Clip("issue53, moderate day rain [real pixels + synthetic rain]", True,
             gray_frames(lambda: rained(looped(street(issue53), 312), 12.0, "moderate"), 12.0),
             lambda i: False, MotionConfig(mask=ISSUE53_MASK)),
        Clip("issue53 at night, heavy IR rain [real pixels + synthetic rain]", True,
             gray_frames(lambda: rained_night(street(issue53), 12.0, "heavy"), 12.0),
             lambda i: False, MotionConfig(mask=ISSUE53_MASK)),
        Clip("wavingtrees, heavy day rain [real pixels + synthetic rain]", True,
             gray_frames(waving, 15.0), lambda i: i >= 242),
    ]


def clips(data: Path) -> list[Clip]:
    out = [
        Clip("wavingtrees", True, source_frames(str(data / "wavingtrees" / "input")),
             lambda i: i >= 242),
        Clip("highway", True, source_frames(str(data / "highway" / "input")),
             lambda i: False),
        Clip("traffic (zone)", True, source_frames(str(data / "dvrscan" / "traffic_camera.mp4")),
             lambda i: False, MotionConfig(zones=[[[x / 1280, y / 720] for x, y in (
                 (631, 532), (841, 532), (841, 659), (631, 659))]])),
        # Privacy-masked as the device masks them: painted black, ignored by motion.
        Clip("highway, bottom band privacy-masked", True,
             source_frames(str(data / "highway" / "input"), privacy=PrivacyMask(BOTTOM_BAND)),
             lambda i: False, MotionConfig(mask=BOTTOM_BAND)),
        Clip("traffic, bottom band privacy-masked", True,
             source_frames(str(data / "dvrscan" / "traffic_camera.mp4"),
                           privacy=PrivacyMask(BOTTOM_BAND)),
             lambda i: False, MotionConfig(mask=BOTTOM_BAND)),
        Clip("issue53 (masked OSD)", True,
             source_frames(str(data / "dvrscan" / "issue53_brightness_change.avi")),
             lambda i: False, MotionConfig(mask=ISSUE53_MASK)),
        Clip("issue53 at night, headlights swept over it", True,
             night_frames(data / "dvrscan" / "issue53_brightness_change.avi"),
             lambda i: False, MotionConfig(mask=ISSUE53_MASK)),
        *rain_clips(data),
    ]
    for name in SYNTHETIC:
        spec = f"synthetic:{name}?fps=25&size=1280x720&seed=1"
        truth = SyntheticSource(spec, 320)
        out.append(Clip(f"{name} [synthetic]", False, source_frames(spec), truth.truth))
    return out


def run_clip(clip: Clip, stage_cfg: PeopleConfig, detector: Any) -> dict[str, Any]:
    stage = PeopleStage(stage_cfg, Inline(detector))
    motion = None
    events: list[Event] = []
    current: Event | None = None
    first_truth = -1
    motion_s: list[float] = []
    for f in clip.frames():
        if motion is None:
            h, w = f.lores.shape
            motion = MotionDetector(clip.motion, w, h)
        t0 = time.process_time()  # CPU, with OpenCV's own worker threads
        r = motion.process(f.lores, f.pts, f.exposure_changed)
        motion_s.append(time.process_time() - t0)
        truth = clip.truth(f.seq)
        if truth and first_truth < 0:
            first_truth = f.seq
        tr = r.transition
        if tr is not None and tr.kind == "start":
            current = Event(f.seq)
            events.append(current)
        if current is not None:
            current.person |= truth
            c0 = time.process_time()
            if r.event_active and stage.offer(f, r, len(events)) is not None:
                # The local loop's rule: a sighting is checked again at the next motion
                # frame, and labels the event once confirmed in the same place.
                found = stage.results()[0]
                current.checks += 1
                current.check_s += time.process_time() - c0  # cutting the region included
                if found.boxes and current.label_frame < 0:
                    current.hits.append(list(found.boxes))
                    if confirmed(current.hits, stage_cfg.min_hits):
                        current.label_frame = f.seq
                    else:
                        stage.confirm(len(events))
        if tr is not None and tr.kind == "end" and current is not None:
            current.end = f.seq
            current = None
    checks = sum(e.checks for e in events)
    return {
        "events": [{"start": e.start, "end": e.end, "person": e.person,
                    "label_frame": e.label_frame, "checks": e.checks,
                    "check_ms": round(e.check_s * 1000, 2)} for e in events],
        "first_person_frame": first_truth,
        "frames": len(motion_s),
        "motion_frame_us": statistics.median(motion_s) * 1e6 if motion_s else 0.0,
        "motion_mean_us": statistics.fmean(motion_s) * 1e6 if motion_s else 0.0,
        "checks": checks,
        "check_ms": sum(e.check_s for e in events) * 1000,
    }


def scores(results: dict[str, dict[str, Any]], names: list[str]) -> dict[str, Any]:
    tp = fp = fn = tn = 0
    delays = []
    for name in names:
        r = results[name]
        for e in r["events"]:
            labelled = e["label_frame"] >= 0
            if e["person"] and labelled:
                tp += 1
                delays.append(e["label_frame"] - r["first_person_frame"])
            elif e["person"]:
                fn += 1
            elif labelled:
                fp += 1
            else:
                tn += 1
    return {"events": tp + fp + fn + tn, "person_events": tp + fn, "tp": tp, "fp": fp,
            "fn": fn, "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None, "delay_frames": delays}


def pipeline_cpu(video: Path, people: bool, tmp: Path) -> float:
    """CPU seconds (user + system) of one `doorcam simulate` of the file, as fast as it goes."""
    cfg = tmp / f"people_{people}.toml"
    cfg.write_text(f"[people]\nenabled = {'true' if people else 'false'}\n", encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "device.cli", "simulate", str(video), "--quiet",
                    "--config", str(cfg), "--store", str(tmp / f"store_{people}_{time.time()}")],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=os.environ.get(
        "DOORCAM_TEST_DATA", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--repeats", type=int, default=3, help="simulate pairs (on/off)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / "wavingtrees").exists():
        raise SystemExit(f"missing {data}: set --data or DOORCAM_TEST_DATA")
    cfg = PeopleConfig()
    detector = make_people_detector(cfg, Path("unused"))
    all_clips = clips(data)
    results = {c.name: run_clip(c, cfg, detector) for c in all_clips}
    real = [c.name for c in all_clips if c.real]
    synthetic = [c.name for c in all_clips if not c.real]
    out: dict[str, Any] = {"detector": getattr(detector, "name", "?"), "clips": results,
                              "real": scores(results, real),
                              "synthetic": scores(results, synthetic)}
    # Which detector finds what, alone, on the real footage (the combination is the default).
    from motion.people.cascade import CascadeDetector
    from motion.people.hog import HogDetector

    alone: dict[str, Any] = {}
    for single in (HogDetector(), CascadeDetector("upperbody"), CascadeDetector("face")):
        runs = {c.name: run_clip(c, cfg, single) for c in all_clips if c.real}
        alone[single.name] = scores(runs, real)
    out["real_by_detector"] = alone
    # Cost: every check of every clip against the motion detector's time per frame, both
    # measured in this run on the same machine.
    per_frame_us = statistics.median([float(r["motion_frame_us"]) for r in results.values()])
    checks = sum(int(r["checks"]) for r in results.values())
    check_ms = sum(float(r["check_ms"]) for r in results.values())
    events = sum(len(r["events"]) for r in results.values())
    per_check_us = check_ms * 1000 / max(checks, 1)
    per_event_us = check_ms * 1000 / max(events, 1)
    out["cost"] = {"motion_frame_us": round(per_frame_us, 1), "checks": checks,
                   "events": events, "check_us": round(per_check_us),
                   "event_us": round(per_event_us),
                   "check_over_motion_frame": round(per_check_us / per_frame_us, 1),
                   "event_over_motion_frame": round(per_event_us / per_frame_us, 1)}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        from bench.bench_pipeline import make_1080p_h264

        video = make_1080p_h264(tmp / "porch1080.mp4", 20)
        on, off = [], []
        for _ in range(args.repeats):  # interleaved: the machine is shared
            off.append(pipeline_cpu(video, False, tmp))
            on.append(pipeline_cpu(video, True, tmp))
        out["pipeline_1080p"] = {"cpu_s_off": off, "cpu_s_on": on,
                                 "on_over_off": round(statistics.median(on)
                                                      / statistics.median(off), 3)}
    print_report(out, all_clips)
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


def print_report(out: dict[str, Any], all_clips: list[Clip]) -> None:
    results: dict[str, dict[str, Any]] = out["clips"]
    print(f"people detector: {out['detector']} (REAL footage, then SYNTHETIC scenes)")
    for c in all_clips:
        r = results[c.name]
        evs = r["events"]
        persons = sum(1 for e in evs if e["person"])
        labelled = sum(1 for e in evs if e["label_frame"] >= 0)
        print(f"  {c.name:62s} events {len(evs):3d}  with a person {persons:2d}  "
              f"labelled person {labelled:2d}  checks {r['checks']}")
    for kind in ("real", "synthetic"):
        s: dict[str, Any] = out[kind]
        print(f"{kind}: precision {s['precision']} recall {s['recall']} "
              f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']}); frames from first appearance "
              f"to the label: {s['delay_frames']}")
    for name, s in out["real_by_detector"].items():
        print(f"real, {name} alone: precision {s['precision']} recall {s['recall']} "
              f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']}), delay {s['delay_frames']}")
    cost: dict[str, Any] = out["cost"]
    print(f"cost: one check {cost['check_over_motion_frame']}x the motion detector's time per "
          f"frame ({cost['check_us']} us vs {cost['motion_frame_us']} us); one event "
          f"{cost['event_over_motion_frame']}x ({cost['checks']} checks over {cost['events']} "
          "events)")
    p: dict[str, Any] = out["pipeline_1080p"]
    print(f"1080p H.264 simulate, CPU with the stage on / off: {p['on_over_off']}x "
          f"(on {p['cpu_s_on']} s, off {p['cpu_s_off']} s)")


if __name__ == "__main__":
    sys.exit(main())
