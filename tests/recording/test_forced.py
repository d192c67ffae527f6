"""A forced recording (a doorbell ring): without motion it records at least the asked
seconds; during a motion clip it marks that clip and keeps it open that long."""

from __future__ import annotations

from capture.media.h264 import H264Encoder
from capture.recording import CommittedClip, Recorder
from tests.recording.helpers import DirSink, frame
from tests.recording.test_recorder import CFG, FPS, INFO, check_clip


def feed(sink: DirSink, n: int, motion: range, ring_at: int,
         seconds: float) -> list[CommittedClip]:
    rec = Recorder(CFG, INFO, sink, H264Encoder(CFG))
    clips: list[CommittedClip] = []
    for i in range(n):
        if i == ring_at:
            rec.force("ring", seconds)
        clips += rec.push(frame(i, FPS), i in motion, 1.0 if i in motion else 0.0)
    return clips + rec.close()


def test_a_ring_without_motion_records_pre_roll_plus_its_seconds(sink: DirSink) -> None:
    [clip] = feed(sink, 200, range(0), ring_at=60, seconds=2.0)
    seqs = check_clip(sink, clip)
    assert clip.meta.trigger == "ring"
    assert seqs[0] <= 60 - round(CFG.pre_roll_seconds * FPS) + 1, "starts with the pre-roll"
    assert seqs[-1] == 60 + round(2.0 * FPS)  # the forced time's last frame
    assert clip.meta.duration >= 2.0


def test_a_ring_during_motion_marks_that_clip_and_outlasts_the_post_roll(
        sink: DirSink) -> None:
    [clip] = feed(sink, 300, range(50, 70), ring_at=60, seconds=3.0)
    seqs = check_clip(sink, clip)
    assert clip.meta.trigger == "ring"
    assert seqs[-1] == 60 + round(3.0 * FPS), "past the motion's post-roll"


def test_motion_alone_is_marked_motion(sink: DirSink) -> None:
    [clip] = feed(sink, 200, range(50, 70), ring_at=-1, seconds=0.0)
    assert clip.meta.trigger == "motion"
