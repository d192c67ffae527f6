"""PiCameraSource against FakePicamera2, a fake that keeps picamera2's rules for the
hardware-encoder path (no Raspberry Pi here). The software-encoder path runs on the real
picamera2 and libcamera in tests/test_picamera_virtual.py."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import pytest

from capture.frame import SourceError
from capture.media import encoder_for
from capture.media.decode import probe_clip
from capture.media.passthrough import PassthroughEncoder
from capture.privacy import PrivacyMask
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
from tests.recording.helpers import DirSink, check_clip, check_gray, check_jpeg  # noqa: E402

# The left part of the picture, which the fake's red rectangle crosses.
MASK = [[[0.0, 0.0], [0.45, 0.0], [0.45, 1.0], [0.0, 1.0]]]


@pytest.fixture(autouse=True)
def _reset() -> None:
    fake.Picamera2.cameras = 1
    fake.H264Encoder.delivered_on.clear()
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
    # picamera2's rules, as the fake keeps them: announced stream, encoder's own thread.
    assert src._queue.streams == ["h264"]
    assert fake.H264Encoder.delivered_on == {"fake-v4l2-poll"}


def test_the_fake_refuses_what_picamera2_refuses() -> None:
    cam = fake.Picamera2(0)
    cam.configure(cam.create_video_configuration(
        main={"size": (64, 48), "format": "YUV420"}, lores={"size": (32, 24), "format": "YUV420"},
        controls={"FrameRate": 25}))
    with pytest.raises(RuntimeError, match="Must pass Output"):
        cam.start_encoder(fake.H264Encoder(), object())


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


@pytest.mark.parametrize(("cameras", "spec", "says"), [
    (0, "picamera:0", "no camera detected"),
    (1, "picamera:1", "there is no camera 1, 1 detected"),
])
def test_missing_camera_says_what_to_check(cameras: int, spec: str, says: str) -> None:
    fake.Picamera2.cameras = cameras
    with pytest.raises(SourceError) as err:
        PiCameraSource(spec, CaptureConfig(), picamera2=fake.module())
    text = str(err.value)
    assert says in text and "rpicam-hello --list-cameras" in text and "ribbon cable" in text
    assert "index" not in text and "\n" not in text


def test_busy_camera_names_the_other_process() -> None:
    first = _source()
    with pytest.raises(SourceError, match="camera busy: another process holds the camera"):
        _source()
    first.close()
    _source().close()  # released: it opens again


def test_unsupported_size_is_refused_not_silently_changed() -> None:
    with pytest.raises(SourceError, match=r"cannot deliver size=8000x6000 \(it offered "
                                          r"4056x3040\).*rpicam-hello --list-cameras"):
        _source(size="8000x6000")
    assert all(c.closed for c in fake.Picamera2.instances)  # not left holding the camera


class _PacedPicamera2(fake.Picamera2):
    """A camera whose application already set a pre_callback (as the virtual-camera test's
    pacing does): privacy masking must keep it."""

    paced = 0

    def __init__(self, camera_num: int = 0) -> None:
        super().__init__(camera_num)
        self.pre_callback = self._pace

    def _pace(self, request: object) -> None:
        _PacedPicamera2.paced += 1


def test_privacy_mask_is_painted_before_the_hardware_encoder(tmp_path: Path) -> None:
    module = fake.module()
    module.Picamera2 = _PacedPicamera2  # type: ignore[attr-defined]
    src = PiCameraSource("picamera:0?size=640x480&fps=25", CaptureConfig(), picamera2=module,
                         privacy=PrivacyMask(MASK))
    cfg = RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.4)
    encoder = encoder_for(src.info, cfg)
    assert isinstance(encoder, PassthroughEncoder)  # the camera's packets, masked already
    sink = DirSink(tmp_path)
    recorder = Recorder(cfg, src.info, sink, encoder)
    committed = []
    for f in itertools.islice(src.frames(), 80):
        lores = check_gray(f.lores, MASK, margin=1)
        assert lores.inside_max == 16 and lores.outside_mean > 60  # motion's picture too
        committed += recorder.push(f, 30 <= f.seq < 50, float(f.seq))
    committed += recorder.close()
    src.close()
    assert _PacedPicamera2.paced == 80
    (clip,) = committed
    checks = check_clip(sink.path(clip.id), MASK)  # every frame, decoded
    assert len(checks) == clip.meta.frames >= 30
    assert all(c.black and c.outside_mean > 60 for c in checks), checks[:3]
    thumb = check_jpeg(clip.meta.thumbnail_jpeg, MASK)
    assert thumb.black and thumb.outside_mean > 60, thumb
    # Without the mask the same camera shows the rectangle and the wall there.
    plain = _source()
    first = next(iter(plain.frames()))
    plain.close()
    assert not check_gray(first.lores, MASK, margin=1).black
