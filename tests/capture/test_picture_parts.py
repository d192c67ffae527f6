"""A region or a scaled copy of a picture without converting the whole of it to BGR."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.media.decode import AvMainImage
from capture.media.picture import bgr_region, bgr_scaled, bgr_size
from capture.privacy import PrivacyMask
from capture.sources import open_source
from capture.sources.base import ArrayImage
from config.schema import CaptureConfig


def pictures(source: str, every: int, count: int, **kw: object) -> list:
    src = open_source(source, CaptureConfig(), pace=None, **kw)  # type: ignore[arg-type]
    try:
        return [f.main for f in itertools.islice(src.frames(), 0, every * count, every)]
    finally:
        src.close()


def regions(width: int, height: int, n: int, seed: int) -> list[tuple[int, int, int, int]]:
    rnd = random.Random(seed)
    out = [(0, 0, width, height), (1, 1, width - 1, height - 1), (width - 1, height - 1,
                                                                  width, height)]
    for _ in range(n):
        x0, y0 = rnd.randrange(width), rnd.randrange(height)
        out.append((x0, y0, rnd.randrange(x0 + 1, width + 1), rnd.randrange(y0 + 1, height + 1)))
    return out


def test_a_region_is_the_whole_conversion_pixel_for_pixel(test_data: Path) -> None:
    """Real footage (H.264, video range): odd and even edges, the whole frame, one pixel."""
    mains = pictures(str(test_data / "dvrscan" / "traffic_camera.mp4"), 40, 4)
    assert mains and all(isinstance(m, AvMainImage) for m in mains)
    for i, main in enumerate(mains):
        whole = main.av_frame.to_ndarray(format="bgr24")
        assert bgr_size(main) == (whole.shape[1], whole.shape[0])
        for x0, y0, x1, y1 in regions(whole.shape[1], whole.shape[0], 40, i):
            part = bgr_region(main, (x0, y0, x1, y1))
            assert part.flags.c_contiguous
            assert np.array_equal(part, whole[y0:y1, x0:x1]), (i, x0, y0, x1, y1)


def test_a_region_of_a_full_range_picture(make_video) -> None:  # type: ignore[no-untyped-def]
    mains = pictures(str(make_video("j.avi", "mjpeg", frames=3, size=(162, 118))), 1, 3)
    assert mains[0].av_frame.format.name == "yuvj420p"
    for main in mains:
        whole = main.to_bgr()
        for x0, y0, x1, y1 in regions(162, 118, 30, 7):
            assert np.array_equal(bgr_region(main, (x0, y0, x1, y1)), whole[y0:y1, x0:x1])


def test_other_pictures_are_cut_from_their_own_conversion() -> None:
    bgr = np.random.default_rng(3).integers(0, 256, (50, 70, 3), np.uint8)
    main = ArrayImage(bgr)
    part = bgr_region(main, (3, 5, 20, 41))
    assert np.array_equal(part, bgr[5:41, 3:20]) and part.flags.c_contiguous
    assert bgr_size(main) == (70, 50)
    assert bgr_scaled(main, (70, 50)) is bgr
    assert np.array_equal(bgr_scaled(main, (35, 25)),
                          cv2.resize(bgr, (35, 25), interpolation=cv2.INTER_AREA))


def test_scaled_while_converting_matches_scaling_the_conversion(test_data: Path) -> None:
    main = pictures(str(test_data / "dvrscan" / "traffic_camera.mp4"), 1, 1)[0]
    w, h = bgr_size(main)
    small = bgr_scaled(main, (w // 2 + 1, h // 2 - 1))
    assert small.shape == (h // 2 - 1, w // 2 + 1, 3)
    reference = cv2.resize(main.to_bgr(), (w // 2 + 1, h // 2 - 1),
                           interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - reference).mean() < 2.0


@pytest.mark.parametrize("part", ["region", "scaled"])
def test_masked_pictures_keep_their_masks(make_video, part: str) -> None:  # type: ignore[no-untyped-def]
    video = make_video("in.mp4", frames=5, size=(320, 240))
    mask = PrivacyMask([[[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]])  # right half
    main = pictures(str(video), 1, 1, privacy=mask)[0]
    out = (bgr_region(main, (0, 0, 320, 240)) if part == "region"
           else bgr_scaled(main, (160, 120)))
    w = out.shape[1]
    assert out[:, w // 2 + 2:].max() < 24 and out[:, : w // 2 - 10].mean() > 40


_HAMMER = '''
import sys, threading
import numpy as np
from capture.media.picture import bgr_region, bgr_scaled
from capture.sources import open_source
from config.schema import CaptureConfig

src = open_source(sys.argv[1], CaptureConfig(), pace=None)
mains = [f.main for _, f in zip(range(12), src.frames())]
assert all(type(m).__name__ == "AvMainImage" for m in mains), type(mains[0])
src.close()
ask = [lambda m: bgr_scaled(m, (640, 360)), lambda m: m.to_bgr().copy(),
       lambda m: bgr_region(m, (101, 57, 901, 657)), lambda m: bgr_scaled(m, (320, 180))]
got = {}
for m in mains:
    start = threading.Barrier(len(ask))
    def run(i, m=m, start=start):
        start.wait()
        got[(id(m), i)] = [ask[i](m) for _ in range(5)]
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ask))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
for m in mains:
    for i, f in enumerate(ask):
        want = f(m)
        assert all(np.array_equal(r, want) for r in got[(id(m), i)]), i
print("same", len(mains))
'''


def test_threads_converting_one_picture_at_once_get_what_one_thread_would(
        test_data: Path) -> None:
    """The motion (thumbnail), live (snapshot) and people (region) threads convert the same
    decoded picture at the same moment; a PyAV frame's own scaler shared by two threads
    crashed or hung the daemon. In a process of its own, so that a crash is a failure."""
    import subprocess
    import sys

    from tests.e2e.test_consent_e2e import REPO

    done = subprocess.run([sys.executable, "-c", _HAMMER,
                           str(test_data / "dvrscan" / "traffic_camera.mp4")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "same 12", (
        done.returncode, done.stderr[-2000:])
