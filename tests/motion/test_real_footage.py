"""The default config on real recorded footage (shared data, ground truth in the folder)."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from config.schema import MotionConfig
from motion import FrameResult, MotionDetector
from tests.motion.footage import (
    ISSUE53_MASK,
    TRAFFIC_EVENTS,
    WAVINGTREES_PERSON,
    highway_paths,
    image_frames,
    traffic_zone,
    video_fps,
    video_frames,
    wavingtrees,
)


def feed(cfg: MotionConfig, frames: list[np.ndarray], fps: float) -> list[FrameResult]:
    h, w = frames[0].shape
    det = MotionDetector(cfg, w, h)
    return [det.process(f, i / fps) for i, f in enumerate(frames)]


def event_ranges(res: list[FrameResult], fps: float) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = None
    for i, r in enumerate(res):
        if r.transition and r.transition.kind == "start":
            start = i
        if r.transition and r.transition.kind == "end" and start is not None:
            out.append((start, round(r.transition.t * fps)))
            start = None
    if start is not None:
        out.append((start, len(res) - 1))
    return out


def test_wavingtrees_tree_is_ignored_person_is_caught(test_data: Path) -> None:
    labels = list(csv.DictReader((test_data / "wavingtrees" / "frames.csv").open()))
    first = min(int(r["frame"]) for r in labels if r["motion"] == "1")
    assert first == WAVINGTREES_PERSON
    res = feed(MotionConfig(), wavingtrees(test_data), 15.0)
    assert not any(r.event_active for r in res[:first])
    begun = [i for i, r in enumerate(res) if r.transition and r.transition.kind == "start"]
    assert begun and first <= begun[0] <= first + 10


def test_issue53_brightness_swings_raise_no_event(test_data: Path) -> None:
    path = test_data / "dvrscan" / "issue53_brightness_change.avi"
    frames = list(video_frames(path))
    labels = list(csv.DictReader(path.with_name(path.stem + "_frames.csv").open()))
    assert len(frames) == len(labels) and all(r["motion"] == "0" for r in labels)
    res = feed(MotionConfig(mask=ISSUE53_MASK), frames, video_fps(path))
    assert not any(r.event_active for r in res)
    assert sum(r.motion for r in res) <= 2


def test_traffic_zone_events_match_labels(test_data: Path) -> None:
    path = test_data / "dvrscan" / "traffic_camera.mp4"
    fps = video_fps(path)
    res = feed(MotionConfig(zones=traffic_zone()), list(video_frames(path)), fps)
    found = event_ranges(res, fps)
    slack = 5
    for a, b in found:  # nothing outside the labelled events
        assert any(a <= e1 + slack and b >= e0 - slack for e0, e1 in TRAFFIC_EVENTS), (a, b)
    for e0, e1 in TRAFFIC_EVENTS:  # every labelled event is overlapped
        assert any(a <= e1 and b >= e0 for a, b in found), (e0, e1, found)


def test_highway_recall_and_pixel_f1(test_data: Path) -> None:
    folder = test_data / "highway"
    lo, hi = (int(v) for v in (folder / "temporalROI.txt").read_text().split())
    paths = highway_paths(test_data)[:hi]
    det = MotionDetector(MotionConfig(), 320, 240)
    aw, ah = det.analysis_size
    hits = tp = fp = fn = 0
    for n, frame in enumerate(image_frames(paths), start=1):
        r = det.process(frame, n / 25.0)
        if n < lo or n % 5:  # pixel scores on every 5th scored frame keep the test quick
            hits += r.motion if n >= lo else 0
            continue
        hits += r.motion
        gt = cv2.imread(str(folder / "groundtruth" / f"gt{n:06d}.png"), cv2.IMREAD_GRAYSCALE)
        gt = cv2.resize(gt, (aw, ah), interpolation=cv2.INTER_NEAREST)
        fg = det.foreground > 0
        pos, neg = gt == 255, (gt == 0) | (gt == 50)
        tp += int(np.sum(fg & pos))
        fp += int(np.sum(fg & neg))
        fn += int(np.sum(~fg & pos))
    recall = hits / (hi - lo + 1)
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert recall >= 0.9
    assert f1 >= 0.6, f1
