"""PiCameraSource against FakePicamera2 (a test double: no Raspberry Pi here)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import pytest

from capture.frame import SourceError
from capture.media import encoder_for
from capture.media.decode import probe_clip
from capture.recording import Recorder
from capture.sources import open_source
from capture.sources.picam import PiCameraSource
from config import CaptureConfig, RecordingConfig

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("fake_picamera2", HERE / "fake_picamera2.py")
assert _spec and _spec.loader
fake = importlib.util.module_from_spec(_spec)
sys.modules["fake_picamera2"] = fake
_spec.loader.exec_module(fake)
from tests.recording.helpers import DirSink  # noqa: E402


@pytest.fixture(autouse=True)
def _reset() -> None:
    fake.Picamera2.frames_before_unplug = 10_000
    fake.Picamera2.exposure_jump_at = -1
    fake.Picamera2.instances.clear()


def _source(**q: str) -> PiCameraSource:
    query = "&".join(f"{k}={v}" for k, v in {"size": "640x480", "fps": "25", **q}.items())
    return PiCameraSource(f"picamera:0?{query}", CaptureConfig(), picamera2=fake.module())


def test_lores_luma_timestamps_packets_and_exposure_flag() -> None:
    fake.Picamera2.exposure_jump_at = 12
    src = _source()
    frames = list(itertools.islice(src.frames(), 30))
    src.close()
    assert fake.Picamera2.instances[0].closed
    assert src.info.codec == "h264" and (src.info.width, src.info.height) == (640, 480)
    assert all(f.lores.shape == (240, 320) and f.lores.flags.c_contiguous for f in frames)
    assert [round(f.pts, 3) for f in frames[:3]] == [0.0, 0.04, 0.08]
    packets = [p for f in frames for p in f.packets]
    assert len(packets) == 30 and packets[0].keyframe
    assert sum(p.keyframe for p in packets) == 2  # gop 1 s at 25 fps
    assert [f.seq for f in frames if f.exposure_changed] == [12]
    assert frames[5].main.to_bgr().shape == (240, 320, 3)


def test_hardware_packets_make_a_clip_without_reencoding(tmp_path: Path) -> None:
    src = _source()
    sink = DirSink(tmp_path)
    cfg = RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.4)
    recorder = Recorder(cfg, src.info, sink, encoder_for(src.info, cfg))
    committed = []
    for f in itertools.islice(src.frames(), 80):
        committed += recorder.push(f, 30 <= f.seq < 50, 0.1)
    committed += recorder.close()
    src.close()
    assert len(committed) == 1
    probe = probe_clip(sink.path(committed[0].id))
    assert probe.codec == "h264" and probe.frames == committed[0].meta.frames
    assert (probe.width, probe.height) == (640, 480)


def test_camera_that_stops_delivering_is_a_clear_error() -> None:
    fake.Picamera2.frames_before_unplug = 5
    src = _source()
    with pytest.raises(SourceError, match="stopped delivering frames"):
        list(src.frames())


def test_without_picamera2_the_error_says_how_to_install_it() -> None:
    if importlib.util.find_spec("picamera2") is not None:
        pytest.skip("picamera2 is installed here")
    with pytest.raises(SourceError, match="python3-picamera2"):
        open_source("picamera:0", CaptureConfig(), pace=None)


def test_bad_spec() -> None:
    with pytest.raises(SourceError, match="WIDTHxHEIGHT"):
        _source(size="big")
