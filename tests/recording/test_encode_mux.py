"""H264Encoder, PassthroughEncoder and Mp4Writer with real libx264 and real files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from av.video.frame import PictureType

from capture.frame import Packet, StreamInfo
from capture.media import encoder_for
from capture.media.encode import EncodeError
from capture.media.h264 import H264Encoder
from capture.media.mux import Mp4Writer, MuxError
from capture.media.passthrough import PassthroughEncoder
from config.schema import RecordingConfig
from tests.recording.helpers import decode, frame, square, square_index

INFO = StreamInfo(320, 240, 25.0, "rawvideo", name="synthetic")
CFG = RecordingConfig(keyframe_interval_seconds=0.4)


def encode(n: int, cfg: RecordingConfig = CFG) -> tuple[StreamInfo, list[Packet]]:
    enc = H264Encoder(cfg)
    out = enc.start(INFO)
    packets = [p for i in range(n) for p in enc.encode(frame(i))]
    return out, packets + enc.stop()


def test_encoder_emits_one_packet_per_frame_with_fixed_gop() -> None:
    enc = H264Encoder(CFG)
    enc.start(INFO)
    per_frame = [enc.encode(frame(i)) for i in range(35)]
    assert enc.stop() == []
    assert [len(ps) for ps in per_frame] == [1] * 35  # zerolatency: no frame delay
    packets = [ps[0] for ps in per_frame]
    assert enc.gop == 10
    assert [i for i, p in enumerate(packets) if p.keyframe] == [0, 10, 20, 30]
    assert [p.pts for p in packets] == pytest.approx([i / 25 for i in range(35)])
    assert all(p.dts is None and p.duration == pytest.approx(0.04) for p in packets)


def test_encoded_clip_decodes_as_h264_yuv420p(tmp_path: Path) -> None:
    info, packets = encode(30)
    w = Mp4Writer(tmp_path / "a.mp4", info)
    for p in packets:
        w.write(p)
    frames, duration = w.close()
    d = decode(tmp_path / "a.mp4")
    assert (d.codec, d.pix_fmt, d.width, d.height) == ("h264", "yuv420p", 320, 240)
    assert frames == len(d.gray) == 30
    assert duration == pytest.approx(30 / 25)
    assert d.pts == pytest.approx([i / 25 for i in range(30)])
    assert [square_index(g) for g in d.gray] == list(range(30))
    assert (tmp_path / "a.mp4").read_bytes()[4:8] == b"ftyp"
    head = (tmp_path / "a.mp4").read_bytes()[:64]
    assert b"moov" in head  # faststart: index before the media data


def test_writer_starts_at_a_keyframe_and_rebases_to_zero(tmp_path: Path) -> None:
    info, packets = encode(30)
    w = Mp4Writer(tmp_path / "b.mp4", info)
    for p in packets[3:]:
        w.write(p)
    assert w.close() == (20, pytest.approx(0.8))
    assert w.dropped == 7
    d = decode(tmp_path / "b.mp4")
    assert d.pts[0] == 0.0
    assert [square_index(g) for g in d.gray] == list(range(10, 30))


def test_decoded_av_frames_are_encoded_without_their_picture_types(tmp_path: Path) -> None:
    enc = H264Encoder(CFG)
    info = enc.start(INFO)
    packets = []
    for i in range(25):
        f = frame(i)
        vf = av.VideoFrame.from_ndarray(square(i), format="bgr24").reformat(format="yuv420p")
        vf.pict_type = PictureType.I  # what a decoder hands over for an intra frame
        f.main.av_frame = vf  # type: ignore[attr-defined]
        # A wrong-sized BGR picture: encoding fails if the encoder converts instead.
        f.main.bgr = np.zeros((1, 1, 3), np.uint8)  # type: ignore[attr-defined]
        packets += enc.encode(f)
    enc.stop()
    assert [i for i, p in enumerate(packets) if p.keyframe] == [0, 10, 20]
    w = Mp4Writer(tmp_path / "c.mp4", info)
    for p in packets:
        w.write(p)
    w.close()
    assert [square_index(g) for g in decode(tmp_path / "c.mp4").gray] == list(range(25))


def test_bad_pictures_give_one_line_errors() -> None:
    with pytest.raises(EncodeError, match="even picture size"):
        H264Encoder(CFG).start(StreamInfo(321, 240, 25.0, "rawvideo"))
    enc = H264Encoder(CFG)
    enc.start(INFO)
    with pytest.raises(EncodeError, match=r"frame 5 picture has shape \(120, 160, 3\)"):
        enc.encode(frame(5, img=square(5, 160, 120)))
    assert len(enc.encode(frame(6))) == 1  # the encoder survives a bad frame
    enc.stop()
    with pytest.raises(EncodeError, match="not started"):
        enc.encode(frame(7))


def test_passthrough_returns_source_packets_and_needs_h264() -> None:
    pkt = Packet(b"\x00\x00\x00\x01\x65", 0.0, 0.04, True)
    enc = PassthroughEncoder()
    with pytest.raises(EncodeError, match=r"'mjpeg' has no H\.264 packets"):
        enc.start(StreamInfo(320, 240, 25.0, "mjpeg"))
    enc.start(StreamInfo(320, 240, 25.0, "h264"))
    assert enc.encode(frame(0, packets=[pkt])) == [pkt]
    assert isinstance(encoder_for(StreamInfo(8, 8, 25.0, "h264"), CFG), PassthroughEncoder)
    assert isinstance(encoder_for(INFO, CFG), H264Encoder)


def test_writer_errors_are_mux_errors(tmp_path: Path) -> None:
    with pytest.raises(MuxError, match="cannot create"):
        Mp4Writer(tmp_path / "no-such-dir" / "x.mp4", INFO)
    w = Mp4Writer(tmp_path / "empty.mp4", INFO)
    with pytest.raises(MuxError, match="no keyframe"):
        w.close()
