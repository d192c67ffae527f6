"""capture.media.decode: frames with their packets, luma views, probing."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from capture.frame import Packet, SourceError
from capture.media.decode import AvMainImage, VideoFileReader, luma, probe_clip

BFRAMES = {"bf": "2", "g": "12"}


def read_all(path: Path) -> tuple[VideoFileReader, list]:
    reader = VideoFileReader(path)
    try:
        return reader, list(reader)
    finally:
        reader.close()


def demuxed(path: Path) -> list[tuple[bytes, int | None]]:
    with av.open(str(path)) as c:
        return [(bytes(p), p.dts) for p in c.demux(c.streams.video[0]) if p.size]


def test_h264_packets_once_in_decode_order_with_dts(make_video, square_x) -> None:
    path = make_video("b.mp4", "libx264", frames=40, options=BFRAMES)
    reader, frames = read_all(path)
    packets = [p for d in frames for p in d.packets]
    assert [p.data for p in packets] == [data for data, _ in demuxed(path)]
    assert len(frames) == 40
    dts = [p.dts for p in packets]
    assert all(d is not None for d in dts)
    assert dts == sorted(dts)
    # B-frames: some packet is presented later than it is decoded
    assert any(p.pts > p.dts for p in packets if p.dts is not None)
    assert packets[0].keyframe
    assert reader.info.codec == "h264" and reader.info.extradata[:1] == b"\x01"  # avcC
    pts = [d.pts for d in frames]
    assert pts[0] == pytest.approx(0.0) and np.all(np.diff(pts) > 0)
    xs = [square_x(d.gray) for d in frames]
    assert np.all(np.diff(xs) > 0), "frames must come out in presentation order"


def test_keyframe_packet_not_later_than_its_frame(make_video) -> None:
    path = make_video("k.mp4", "libx264", frames=40, options={"g": "10", "bf": "2"})
    _, frames = read_all(path)
    delivered: list[Packet] = []
    for d in frames:
        delivered += d.packets
        # every frame shown so far has its packet delivered already
        assert any(p.pts == pytest.approx(d.pts) for p in delivered)
    assert sum(p.keyframe for p in delivered) == 4


def test_extradata_and_packets_alone_decode_everything(make_video) -> None:
    path = make_video("x.mp4", "libx264", frames=25, options=BFRAMES)
    reader, frames = read_all(path)
    ctx = av.CodecContext.create("h264", "r")
    ctx.extradata = reader.info.extradata
    out = [f for d in frames for p in d.packets for f in ctx.decode(av.Packet(p.data))]
    out += ctx.decode(None)
    assert len(out) == 25


def test_remux_of_packets_plays_with_same_frame_count(make_video, tmp_path) -> None:
    path = make_video("r.mp4", "libx264", frames=30, options=BFRAMES)
    _, frames = read_all(path)
    tb = Fraction(1, 90000)
    dst = tmp_path / "remux.mp4"
    with av.open(str(path)) as src, av.open(str(dst), "w") as out:
        st = out.add_stream_from_template(src.streams.video[0], opaque=True)
        for p in (p for d in frames for p in d.packets):
            ap = av.Packet(p.data)
            assert p.dts is not None
            ap.pts, ap.dts, ap.duration = (round(v / tb) for v in (p.pts, p.dts, p.duration))
            ap.is_keyframe, ap.stream, ap.time_base = p.keyframe, st, tb
            out.mux(ap)
    probe = probe_clip(dst)
    assert (probe.frames, probe.width, probe.height, probe.codec) == (30, 160, 120, "h264")
    assert probe.duration == pytest.approx(30 / 25, abs=0.02)


def test_luma_view_honours_stride(make_video) -> None:
    path = make_video("odd.mkv", "libx264", frames=3, size=(150, 90))
    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
        y = luma(f)
        assert f.planes[0].line_size > 150 and y.shape == (90, 150)
        np.testing.assert_array_equal(y, f.to_ndarray()[:90])  # yuv420p: Y rows first


def test_main_image_is_lazy_bgr_and_keeps_av_frame(make_video) -> None:
    _, frames = read_all(make_video("m.avi", "mpeg4", frames=3))
    main = frames[0].main
    assert isinstance(main, AvMainImage) and main.av_frame.format.name == "yuv420p"
    bgr = main.to_bgr()
    assert bgr.shape == (120, 160, 3) and bgr.dtype == np.uint8
    assert main.to_bgr() is bgr
    assert frames[0].packets == []


def test_non_h264_has_no_packets_and_decoder_name(make_video) -> None:
    reader, frames = read_all(make_video("j.mkv", "mjpeg", frames=5))
    assert reader.info.codec == "mjpeg" and reader.info.extradata == b""
    assert len(frames) == 5 and all(d.packets == [] for d in frames)


def test_probe_rejects_truncated_file(make_video) -> None:
    path = make_video("t.mp4", "libx264", frames=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"t\.mp4"):
        probe_clip(path)


@pytest.mark.parametrize(("content", "message"), [
    (None, "video file not found"),
    (b"", "empty file"),
    (b"this is not a video at all\n" * 20, "not a video FFmpeg can decode"),
])
def test_reader_bad_inputs(tmp_path, content, message) -> None:
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as e:
        VideoFileReader(path)
    assert "bad.mp4" in str(e.value) and "\n" not in str(e.value)
