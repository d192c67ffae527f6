"""What the recorder stamps on each clip besides its media: simulated, and the system
clock (synchronised or not, its error bounds), asked once per clip when it opens."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from capture.media.h264 import H264Encoder
from capture.recording import CommittedClip, Recorder
from capture.recording.sink import ClipClock, ClipOpened
from device.store import ClipStore
from tests.recording.helpers import DirSink, frame
from tests.recording.test_recorder import CFG, FPS, INFO
from tests.store.helpers import store_config


def test_clock_is_sampled_once_per_clip_when_it_opens(sink: DirSink) -> None:
    # Not synchronised for the first clip, then synchronised.
    answers = [ClipClock(synced=False), ClipClock(True, 12, 3)]
    asked: list[int] = []

    def clock() -> ClipClock:
        asked.append(len(asked))
        return answers[len(asked) - 1]

    rec = Recorder(CFG, INFO, sink, H264Encoder(CFG), simulated=True, clock=clock)
    clips: list[CommittedClip] = []
    events = [range(30, 40), range(100, 110)]  # two events, far apart: two clips
    for i in range(160):
        clips += rec.push(frame(i, FPS), any(i in ev for ev in events), 1.0)
    clips += rec.close()
    assert len(clips) == 2
    assert len(asked) == 2, "asked per clip, not per frame"
    assert [(c.meta.clock_synced, c.meta.clock_max_error_ms, c.meta.clock_est_error_ms)
            for c in clips] == [(False, None, None), (True, 12, 3)]
    assert all(c.meta.simulated for c in clips)


def test_by_default_a_clip_is_from_the_camera_with_a_synchronised_clock(sink: DirSink) -> None:
    rec = Recorder(CFG, INFO, sink, H264Encoder(CFG))
    clips: list[CommittedClip] = []
    for i in range(60):
        clips += rec.push(frame(i, FPS), 20 <= i < 30, 1.0)
    clips += rec.close()
    assert len(clips) == 1
    assert clips[0].meta.clock_synced and not clips[0].meta.simulated


def test_a_clip_cut_short_keeps_its_marks(tmp_path: Path) -> None:
    """A power cut mid-clip: the clip recovered at the next start is still marked (its note,
    written before the first fragment, carries the marks)."""
    root, crashed = tmp_path / "store", tmp_path / "crashed"
    store = ClipStore(store_config(root))
    rec = Recorder(CFG, INFO, store, H264Encoder(CFG), simulated=True,
                   clock=lambda: ClipClock(True, 40, 7))
    for i in range(130):
        rec.push(frame(i, FPS), i >= 10, 0.5)
    clip_id = rec.current_clip_id
    assert clip_id is not None
    shutil.copytree(root, crashed)  # the disk as the power cut left it
    rec.close()
    store.close()
    note = json.loads((crashed / "tmp" / f"{clip_id}.open.json").read_bytes())
    assert (note["simulated"], note["clock_synced"], note["clock_max_error_ms"]) == (
        True, True, 40)
    with ClipStore(store_config(crashed)) as again:
        got = again.get(clip_id)
        assert got.cut_short and got.simulated
        assert (got.clock_synced, got.clock_max_error_ms, got.clock_est_error_ms) == (
            True, 40, 7)


def test_a_start_note_from_before_the_marks_reads_with_the_defaults() -> None:
    old = {"id": "c1", "start_wall": 1.0, "start_pts": 0.0, "first_seq": 0, "width": 2,
           "height": 2, "fps": 25.0}
    opened = ClipOpened.from_json(old)
    assert (opened.simulated, opened.clock_synced) == (False, True)
    assert (opened.clock_max_error_ms, opened.clock_est_error_ms) == (None, None)
    with pytest.raises(ValueError, match="clock_synced"):
        ClipOpened.from_json({**old, "clock_synced": "yes"})
    with pytest.raises(ValueError, match="clock_max_error_ms"):
        ClipOpened.from_json({**old, "clock_max_error_ms": 1.5})
