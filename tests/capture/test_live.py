"""The OpenCV live source, exercised with a local file (VideoCapture accepts paths)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from capture.frame import SourceError
from capture.sources import open_source
from capture.sources.live import LiveSource, capture_target
from config.schema import CaptureConfig

CFG = CaptureConfig(lores_width=80)


def test_live_source_reads_a_file_with_clock_stamps(make_video, square_x) -> None:
    path = make_video("cam.avi", "mpeg4", frames=15)
    before = time.monotonic()
    src = LiveSource(str(path), CFG)
    assert (src.info.width, src.info.height, src.info.codec) == (160, 120, "opencv")
    frames = list(src.frames())
    src.close()
    assert len(frames) == 15 and src.ended
    assert [f.seq for f in frames] == list(range(15))
    assert frames[0].pts == 0.0 and frames[0].mono >= before
    assert np.all(np.diff([f.mono for f in frames]) >= 0)
    assert abs(frames[0].wall - time.time()) < 60
    assert frames[3].lores.shape == (60, 80) and frames[3].main.to_bgr().shape == (120, 160, 3)
    assert np.all(np.diff([square_x(f.lores) for f in frames]) > 0)


def test_capture_targets() -> None:
    assert capture_target("camera:2") == 2
    assert capture_target("/dev/video0") == "/dev/video0"
    with pytest.raises(SourceError, match="camera:x: camera index must be a number"):
        capture_target("camera:x")


@pytest.mark.parametrize("spec", ["camera:97", "rtsp://127.0.0.1:9/none"])
def test_unopenable_live_sources(spec: str) -> None:
    with pytest.raises(SourceError, match=spec.replace(".", r"\.") + ": cannot open"):
        open_source(spec, CFG, pace=None)


def test_unknown_scheme() -> None:
    with pytest.raises(SourceError, match=r"ftp://x/y: unknown source scheme"):
        open_source("ftp://x/y", CFG, pace=None)
