"""The remux path on real H.264 footage (720p, B-frames): packets go into clips untouched."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from capture.frame import Packet, StreamInfo
from capture.media.passthrough import PassthroughEncoder
from capture.recording import CommittedClip, Recorder
from config.schema import RecordingConfig
from tests.recording.helpers import DirSink, decode, frame, packet_bytes

FPS = 25.0


def remux(traffic: tuple[list[Packet], bytes], sink: DirSink, cfg: RecordingConfig,
          motion: range) -> tuple[list[CommittedClip], list[Packet]]:
    """One frame per source packet (decode order), as a camera's encoder delivers them."""
    packets, avcc = traffic
    info = StreamInfo(1280, 720, FPS, "h264", extradata=avcc, name="traffic")
    rec = Recorder(cfg, info, sink, PassthroughEncoder())
    img = np.zeros((720, 1280, 3), np.uint8)
    clips: list[CommittedClip] = []
    for i, p in enumerate(packets):
        clips += rec.push(frame(i, FPS, img=img, packets=[p]), i in motion, 1.0)
    return clips + rec.close(), packets


def test_source_has_b_frames(traffic: tuple[list[Packet], bytes]) -> None:
    packets, avcc = traffic
    assert avcc[:1] == b"\x01"  # avcC, packets are length-prefixed
    assert any(p.dts is not None and p.dts < p.pts for p in packets)


def test_remuxed_clip_is_byte_identical_and_decodes(
        traffic: tuple[list[Packet], bytes], sink: DirSink) -> None:
    cfg = RecordingConfig(pre_roll_seconds=2.0, post_roll_seconds=1.0)
    onset, last = 300, 340  # 12.0 s .. 13.6 s; keyframes every 5.12 s
    clips, packets = remux(traffic, sink, cfg, range(onset, last + 1))
    assert len(clips) == 1
    m = clips[0].meta
    got = packet_bytes(sink.path(clips[0].id))
    start = next(i for i, p in enumerate(packets) if p.pts == pytest.approx(m.start_pts))
    assert packets[start].keyframe
    assert got == [p.data for p in packets[start : start + len(got)]]  # not re-encoded
    gop = 5.12
    lead = onset / FPS - m.start_pts
    assert cfg.pre_roll_seconds <= lead <= cfg.pre_roll_seconds + gop
    assert start + len(got) - 1 == last + round(cfg.post_roll_seconds * FPS)
    d = decode(sink.path(clips[0].id))
    assert (d.codec, d.width, d.height) == ("h264", 1280, 720)
    assert len(d.gray) == m.frames == len(got)
    # B-frames and no edit list (capture.media.mp4opts): the first picture shows a frame late.
    assert d.pts[0] == pytest.approx(1 / FPS)
    assert sorted(d.pts)[-1] + 1 / FPS == pytest.approx(m.duration, abs=1 / FPS)


def test_split_clips_join_into_the_source_stream(
        traffic: tuple[list[Packet], bytes], sink: DirSink) -> None:
    cfg = RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5, max_clip_seconds=4.0)
    clips, packets = remux(traffic, sink, cfg, range(20, 480))
    assert len(clips) >= 3
    parts = [packet_bytes(sink.path(c.id)) for c in clips]
    start = next(i for i, p in enumerate(packets) if p.data == parts[0][0])
    joined = [b for part in parts for b in part]
    assert joined == [p.data for p in packets[start : start + len(joined)]]
    for c, part in zip(clips, parts, strict=True):
        assert packets[[p.data for p in packets].index(part[0])].keyframe
        assert len(decode(sink.path(c.id)).gray) == c.meta.frames == len(part)
    for a, b in itertools.pairwise(clips):
        assert b.meta.first_seq == a.meta.last_seq + 1
        assert b.meta.start_pts == pytest.approx(a.meta.start_pts + a.meta.duration)
