"""Recorder on the encode path: pre-roll, post-roll, merging, splitting, thumbnail, failures."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.frame import StreamInfo
from capture.media.h264 import H264Encoder
from capture.recording import CommittedClip, Recorder, RecordingError
from capture.recording.recorder import RETRY_S
from config.schema import RecordingConfig
from tests.recording.helpers import WALL0, DirSink, decode, frame, square, square_index

FPS = 25.0
INFO = StreamInfo(320, 240, FPS, "rawvideo", name="synthetic")
CFG = RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.4, max_clip_seconds=120.0,
                      keyframe_interval_seconds=0.5, thumbnail_width=160)


def run(cfg: RecordingConfig, sink: DirSink, n: int, motion: Callable[[int], bool],
        score: Callable[[int], float] = lambda i: 1.0) -> tuple[Recorder, list[CommittedClip]]:
    rec = Recorder(cfg, INFO, sink, H264Encoder(cfg))
    clips: list[CommittedClip] = []
    for i in range(n):
        clips += rec.push(frame(i, FPS), motion(i), score(i) if motion(i) else 0.0)
    clips += rec.close()
    return rec, clips


def check_clip(sink: DirSink, clip: CommittedClip) -> list[int]:
    """Decode the committed file, check it against its ClipMeta; returns the frame indices."""
    d = decode(sink.path(clip.id))
    m = clip.meta
    assert (d.codec, d.pix_fmt, d.width, d.height) == ("h264", "yuv420p", m.width, m.height)
    assert len(d.gray) == m.frames
    assert d.pts[-1] - d.pts[0] + 1 / FPS == pytest.approx(m.duration, abs=1 / FPS)
    seqs = list(range(m.first_seq, m.last_seq + 1))
    assert [square_index(g) for g in d.gray] == [s % 130 for s in seqs]  # the square wraps
    assert m.start_pts == pytest.approx(m.first_seq / FPS)
    assert m.start_wall == pytest.approx(WALL0 + m.start_pts)
    assert m.end_wall == pytest.approx(m.start_wall + m.duration)
    return seqs


@pytest.mark.parametrize("onset", [8, 50, 61])
def test_clip_holds_pre_roll_from_a_keyframe_and_post_roll(sink: DirSink, onset: int) -> None:
    last_motion = onset + 10
    _, clips = run(CFG, sink, 110, lambda i: onset <= i <= last_motion)
    assert len(clips) == 1
    seqs = check_clip(sink, clips[0])
    lead = (onset - seqs[0]) / FPS
    assert seqs[0] % int(CFG.keyframe_interval_seconds * FPS) == 0  # a keyframe
    assert lead <= CFG.pre_roll_seconds + CFG.keyframe_interval_seconds
    assert lead >= min(CFG.pre_roll_seconds, onset / FPS)  # all history when it is short
    assert seqs[-1] == last_motion + round(CFG.post_roll_seconds * FPS)
    assert sink.aborted == []


def test_close_events_merge_and_distant_ones_do_not(sink: DirSink) -> None:
    # Motion 20-30 and 38-45: the gap (0.28 s) is inside the post-roll, one clip.
    # Motion again at 100: far after, so a second clip.
    events = [(20, 30), (38, 45), (100, 104)]
    ids: list[str | None] = []
    rec = Recorder(CFG, INFO, sink, H264Encoder(CFG))
    clips: list[CommittedClip] = []
    for i in range(130):
        clips += rec.push(frame(i), any(a <= i <= b for a, b in events), 1.0)
        ids.append(rec.current_clip_id)
    clips += rec.close()
    assert len(clips) == 2
    first = check_clip(sink, clips[0])
    assert first[-1] == 45 + 10 and 20 in first
    assert check_clip(sink, clips[1])[-1] == 104 + 10
    assert set(ids[20:56]) == {clips[0].id} and ids[56] is None
    assert set(ids[100:115]) == {clips[1].id} and ids[115:] == [None] * 15


def test_long_motion_splits_at_keyframes_with_continuous_coverage(sink: DirSink) -> None:
    cfg = RecordingConfig(pre_roll_seconds=0.5, post_roll_seconds=0.2, max_clip_seconds=2.0,
                          keyframe_interval_seconds=0.5)
    _, clips = run(cfg, sink, 200, lambda i: 30 <= i < 180)
    assert len(clips) >= 3
    seqs = [check_clip(sink, c) for c in clips]
    joined = [s for part in seqs for s in part]
    assert joined == list(range(seqs[0][0], seqs[-1][-1] + 1))  # no gap, no overlap
    for c in clips[:-1]:
        # Cut at the first keyframe once max_clip_seconds was reached.
        assert cfg.max_clip_seconds <= c.meta.duration <= cfg.max_clip_seconds + 0.5 + 1 / FPS
    for a, b in itertools.pairwise(clips):
        assert b.meta.start_pts == pytest.approx(a.meta.start_pts + a.meta.duration)
    assert seqs[-1][-1] == 179 + 5


def test_thumbnail_is_the_peak_frame(sink: DirSink) -> None:
    peak = 37
    _, clips = run(CFG, sink, 80, lambda i: 30 <= i <= 45,
                   score=lambda i: 10.0 - abs(i - peak) / 10)
    meta = clips[0].meta
    assert meta.peak_score == pytest.approx(10.0)
    img = cv2.imdecode(np.frombuffer(meta.thumbnail_jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img is not None and img.shape == (120, 160)
    assert square_index(img) == peak


def test_failure_aborts_the_clip_and_the_next_one_works(sink: DirSink, tmp_path: Path) -> None:
    rec = Recorder(CFG, INFO, sink, H264Encoder(CFG))
    clips: list[CommittedClip] = []
    for i in range(40):
        clips += rec.push(frame(i), 10 <= i <= 15, 1.0)
    assert len(clips) == 1
    good = sink.path(clips[0].id).read_bytes()

    full = tmp_path / "full.mp4"
    os.symlink("/dev/full", full)  # every write: ENOSPC, like a full disk
    sink.fail_path = full
    with pytest.raises(RecordingError, match=r"clip c002 aborted: .*No space left on device"):
        for i in range(40, 70):
            clips += rec.push(frame(i), i >= 45, 1.0)
    assert sink.aborted == ["c002"] and rec.current_clip_id is None

    # The next clip is tried RETRY_S later, not on every frame (one error per frame would
    # flood the log while a disk stays full or read-only).
    failed_at = i
    i += 1
    rec.push(frame(i), True, 1.0)
    assert rec.current_clip_id is None
    while rec.current_clip_id is None:
        i += 1
        rec.push(frame(i), True, 1.0)
    assert (i - failed_at) / FPS == pytest.approx(RETRY_S, abs=1 / FPS)
    # An encoder failure while a clip is open aborts that clip too.
    assert rec.current_clip_id == "c003"
    i += 1
    with pytest.raises(RecordingError, match=f"clip c003 aborted: frame {i} picture has shape"):
        rec.push(frame(i, img=square(0, 64, 48)), True, 1.0)
    assert sink.aborted == ["c002", "c003"]

    moves = i + 1 + int(RETRY_S * FPS)
    for j in range(i + 1, moves + 40):
        clips += rec.push(frame(j), moves <= j < moves + 10, 1.0)
    clips += rec.close()
    assert [c.id for c in clips] == ["c001", "c004"]
    check_clip(sink, clips[1])
    assert sink.path("c001").read_bytes() == good  # earlier clips untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c001.mp4", "c004.mp4"]  # no leftovers
