"""What the recorder stamps on each clip besides its media: simulated, and whether the
system clock was synchronised, asked once per clip when it opens."""

from __future__ import annotations

from capture.media.h264 import H264Encoder
from capture.recording import CommittedClip, Recorder
from tests.recording.helpers import DirSink, frame
from tests.recording.test_recorder import CFG, FPS, INFO


def test_clock_is_sampled_once_per_clip_when_it_opens(sink: DirSink) -> None:
    answers = [False, True]  # not synchronised for the first clip, then synchronised
    asked: list[int] = []

    def clock_synced() -> bool:
        asked.append(len(asked))
        return answers[len(asked) - 1]

    rec = Recorder(CFG, INFO, sink, H264Encoder(CFG), simulated=True,
                   clock_synced=clock_synced)
    clips: list[CommittedClip] = []
    events = [range(30, 40), range(100, 110)]  # two events, far apart: two clips
    for i in range(160):
        clips += rec.push(frame(i, FPS), any(i in ev for ev in events), 1.0)
    clips += rec.close()
    assert len(clips) == 2
    assert len(asked) == 2, "asked per clip, not per frame"
    assert [c.meta.clock_synced for c in clips] == [False, True]
    assert all(c.meta.simulated for c in clips)


def test_by_default_a_clip_is_from_the_camera_with_a_synchronised_clock(sink: DirSink) -> None:
    rec = Recorder(CFG, INFO, sink, H264Encoder(CFG))
    clips: list[CommittedClip] = []
    for i in range(60):
        clips += rec.push(frame(i, FPS), 20 <= i < 30, 1.0)
    clips += rec.close()
    assert len(clips) == 1
    assert clips[0].meta.clock_synced and not clips[0].meta.simulated
