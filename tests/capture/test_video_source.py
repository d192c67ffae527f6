"""Video files through open_source: shapes, timing, packets, loop, pacing, damage."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from capture.frame import SourceError
from capture.sources import open_source
from capture.sources.video import VideoFileSource
from config.schema import CaptureConfig

CFG = CaptureConfig(lores_width=64)


@pytest.mark.parametrize(("name", "codec", "reported"), [
    ("a.mp4", "libx264", "h264"),
    ("b.avi", "mpeg4", "mpeg4"),
    ("c.mkv", "libx264", "h264"),
    ("d.mov", "mjpeg", "mjpeg"),
])
def test_file_kinds(make_video, square_x, name, codec, reported) -> None:
    src = open_source(str(make_video(name, codec, frames=20)), CFG, pace=None)
    assert isinstance(src, VideoFileSource)
    assert (src.info.width, src.info.height, src.info.codec) == (160, 120, reported)
    assert src.info.fps == pytest.approx(25)
    frames = list(src.frames())
    src.close()
    assert [f.seq for f in frames] == list(range(20))
    assert np.all(np.diff([f.pts for f in frames]) > 0)
    assert np.all(np.diff([f.mono for f in frames]) > 0)
    for f in frames:
        assert f.lores.shape == (48, 64) and f.lores.dtype == np.uint8
        assert f.lores.flags.c_contiguous and not f.exposure_changed
        assert f.mono - frames[0].mono == pytest.approx(f.pts)
    # Wall time is when each frame really arrived (here: as fast as it decodes).
    assert np.all(np.diff([f.wall for f in frames]) >= 0)
    assert time.time() - 60 < frames[0].wall <= frames[-1].wall <= time.time()
    assert np.all(np.diff([square_x(f.lores) for f in frames]) > 0)
    assert (len(frames[0].packets) > 0) == (reported == "h264")


def test_traffic_clip(test_data: Path) -> None:
    src = open_source(str(test_data / "dvrscan" / "traffic_camera.mp4"),
                      CaptureConfig(), pace=None)
    info = src.info
    assert (info.width, info.height, info.codec, info.frames) == (1280, 720, "h264", 576)
    assert info.fps == pytest.approx(25) and info.extradata
    seqs, pts, packets = [], [], []
    for f in src.frames():
        assert f.lores.shape == (180, 320)
        seqs.append(f.seq)
        pts.append(f.pts)
        packets += f.packets
    src.close()
    assert seqs == list(range(576)) and np.all(np.diff(pts) > 0)
    assert pts[-1] == pytest.approx(575 / 25)
    assert len(packets) == 576 and packets[0].keyframe
    dts = [p.dts for p in packets]
    assert dts == sorted(dts)  # type: ignore[type-var]
    assert any(p.pts != p.dts for p in packets), "the clip has B-frames"
    assert sorted(round(p.pts * 25) for p in packets) == list(range(576))


def test_loop_continues_seq_and_pts(make_video) -> None:
    path = make_video("l.mp4", "libx264", frames=10)
    src = open_source(str(path), CaptureConfig(lores_width=64, loop=True), pace=None)
    frames = []
    for f in src.frames():
        frames.append(f)
        if len(frames) == 25:
            break
    src.close()
    assert [f.seq for f in frames] == list(range(25))
    assert np.allclose(np.diff([f.pts for f in frames]), 1 / 25)
    np.testing.assert_array_equal(frames[3].lores, frames[13].lores)
    restart = [p for p in frames[10].packets]
    assert restart and restart[0].keyframe and restart[0].pts == pytest.approx(10 / 25)


def test_pacing_ten_times_realtime(make_video) -> None:
    path = make_video("p.mp4", "libx264", frames=25)  # 1 s of video
    src = open_source(str(path), CFG, pace=10.0)
    t0 = time.monotonic()
    frames = list(src.frames())
    elapsed = time.monotonic() - t0
    src.close()
    assert elapsed >= 0.096 - 0.005
    spacing = frames[-1].mono - frames[0].mono
    assert spacing >= (frames[-1].pts - frames[0].pts) / 10 - 0.005


def test_truncated_file_yields_what_it_can(make_video) -> None:
    path = make_video("cut.mkv", "libx264", frames=60, options={"g": "10"})
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    src = open_source(str(path), CFG, pace=None)
    frames = list(src.frames())
    src.close()
    assert 10 <= len(frames) < 60
    assert np.all(np.diff([f.pts for f in frames]) > 0)
    assert src.error and "truncated" in src.error


@pytest.mark.parametrize(("name", "codec"), [("bad.avi", "mpeg4"), ("bad.mp4", "libx264")])
def test_corrupt_bytes_mid_stream_do_not_stop_reading(make_video, name, codec) -> None:
    path = make_video(name, codec, frames=60, options={"g": "10"})
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 400] = bytes(range(256)) + bytes(144)
    path.write_bytes(bytes(data))
    src = open_source(str(path), CFG, pace=None)
    assert isinstance(src, VideoFileSource)
    frames = list(src.frames())
    src.close()
    assert len(frames) >= 40
    # Reading goes on past the damage, and the damage is reported, not silently concealed.
    assert src.error is None or "could be decoded" in src.error
    assert src.skipped > 0 or src.error
    assert [f.seq for f in frames] == list(range(len(frames)))
    if codec == "libx264":
        assert src.skipped > 0, "the damaged H.264 packets are counted"


def test_mp4_cut_before_its_index_is_a_clear_error(make_video) -> None:
    path = make_video("cut.mp4", "libx264", frames=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"cut\.mp4: an MP4 without its index \(no moov box\): "
                       "cut short while it was written or copied"):
        open_source(str(path), CFG, pace=None)


@pytest.mark.parametrize(("content", "message"), [
    (None, r"video file not found: .*nothing\.mp4"),
    (b"", r"nothing\.mp4: empty file"),
    (b"\x00\x01garbage" * 100, r"nothing\.mp4: not a video FFmpeg can decode \(.+\)"),
])
def test_bad_files(tmp_path, content, message) -> None:
    path = tmp_path / "nothing.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        open_source(str(path), CFG, pace=None)


def test_image_file_is_not_a_video_stream_with_frames(tmp_path) -> None:
    path = tmp_path / "audio.wav"
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(16000))
    with pytest.raises(SourceError, match=r"audio\.wav: no video stream"):
        open_source(str(path), CFG, pace=None)
