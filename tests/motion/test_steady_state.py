"""No per-frame allocation in the hot path; event tracking and baselines on their own."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from bench.baselines import FrameDiffBaseline, PicameraMSEBaseline, picamera_example_mse
from config.schema import MotionConfig
from motion import MotionDetector
from motion.events import EventTracker
from tests.motion.scenes import FPS, H, Scene, W, person


def _buffers(det: MotionDetector) -> dict[str, int]:
    return {k: id(v) for k, v in vars(det).items() if isinstance(v, np.ndarray)}


def test_quiet_and_moving_frames_allocate_nothing_that_stays() -> None:
    scene = Scene(11)
    figure = person(30, 60)
    frames = [scene.render(1.0, ((5 * (i % 50), 90, figure),)) for i in range(200)]
    det = MotionDetector(MotionConfig(), W, H)
    for i in range(100):
        det.process(frames[i], i / FPS)
    before = _buffers(det)
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    for i in range(100, 200):
        det.process(frames[i], i / FPS)
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename") if s.size_diff > 0)
    assert grown < 4096  # one frame of 160x120 alone is 19 kB
    assert _buffers(det) == before  # the same arrays are reused, none replaced


def test_numpy_arrays_per_quiet_frame_are_none() -> None:
    scene = Scene(12)
    det = MotionDetector(MotionConfig(), W, H)
    img = scene.render()
    for i in range(40):
        det.process(img, i / FPS)
    tracemalloc.start()
    for i in range(40, 240):
        det.process(img, i / FPS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8192  # no frame-sized temporary was ever created


def test_tracker_persistence_quiet_and_update_rate() -> None:
    tr = EventTracker(persistence=3, window=5, quiet_seconds=1.0)
    box = ((0.1, 0.1, 0.2, 0.2),)
    pattern = [1, 0, 1, 0, 0, 0, 1, 1, 0, 1]  # 3 of the last 5 only at index 9
    kinds = [tr.step(i * 0.1, bool(m), 0.1 * m, box if m else ()) for i, m in enumerate(pattern)]
    assert [k.kind if k else None for k in kinds][:9] == [None] * 9
    assert kinds[9] is not None and kinds[9].kind == "start" and kinds[9].event_id == 1
    upd = [tr.step(1.0 + i * 0.1, True, 0.2, box) for i in range(25)]
    times = [u.t for u in upd if u]
    assert len(times) == 2 and 1.0 <= times[0] - 0.9 <= 1.1 + 1e-9 and times[1] - times[0] >= 1.0
    quiet = [tr.step(3.5 + i * 0.1, False, 0.0, ()) for i in range(15)]
    ends = [q for q in quiet if q and q.kind == "end"]
    assert len(ends) == 1 and ends[0].kind == "end" and ends[0].t == pytest.approx(3.4)
    assert ends[0].peak_score == 0.2 and not tr.active


def test_baselines_frame_level() -> None:
    scene = Scene(13)
    a, b = scene.render(), scene.render(1.0, ((100, 100, person(40, 40)),))
    fd, mse = FrameDiffBaseline(), PicameraMSEBaseline()
    assert [fd.process(x, 0) for x in (a, a, b)] == [False, False, True]
    assert [mse.process(x, 0) for x in (a, a, b)] == [False, False, True]
    # The example's uint8 arithmetic wraps: a uniform +16 change reads as 0.
    flat = np.full((240, 320), 100, np.uint8)
    assert picamera_example_mse(flat + 16, flat) == 0.0
    assert PicameraMSEBaseline().process(flat, 0) is False
