"""A clip in progress at a crash is indexed at the next start from its synced fragments."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.frame import StreamInfo
from capture.media.decode import probe_clip
from capture.media.h264 import H264Encoder
from capture.recording import Recorder
from config.schema import RecordingConfig
from device.cli import main
from device.store import ClipStore
from device.store import index as store_index
from tests.recording.helpers import decode, frame, square_index
from tests.store.helpers import commit_bytes, store_config

FPS = 25.0
INFO = StreamInfo(320, 240, FPS, "rawvideo", name="synthetic")
CFG = RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5,
                      keyframe_interval_seconds=1.0, preset="ultrafast")


def record_until_cut(root: Path, crashed: Path, frames: int) -> tuple[str, int]:
    """Record `frames` frames of motion, then copy the store as the disk holds it (the
    power cut); the clip id and the frames the recorder had written when cut."""
    store = ClipStore(store_config(root))
    rec = Recorder(CFG, INFO, store, H264Encoder(CFG))
    for i in range(frames):
        rec.push(frame(i, FPS), i >= 10, 0.5)
    clip_id = rec.current_clip_id
    assert clip_id is not None
    shutil.copytree(root, crashed)
    written = frames  # zerolatency: one packet per frame, none held by the encoder
    rec.close()
    store.close()
    return clip_id, written


def test_a_clip_cut_short_is_indexed_from_its_fragments(tmp_path: Path) -> None:
    crashed = tmp_path / "crashed"
    clip_id, written = record_until_cut(tmp_path / "store", crashed, 130)
    opened = json.loads((crashed / "tmp" / f"{clip_id}.open.json").read_bytes())
    with ClipStore(store_config(crashed)) as store:
        assert store.recovery.cut_short_indexed == 1
        assert "1 cut short indexed" in store.recovery.summary()
        rec = store.get(clip_id)
        path = store.clip_path(rec.id)
        assert rec.cut_short and not rec.held
        assert hashlib.sha256(path.read_bytes()).hexdigest() == rec.sha256
        assert rec.size == path.stat().st_size
        # Everything up to the last full second of media was synced; the rest was held.
        assert written - FPS - 1 <= rec.first_seq + rec.frames <= written
        assert probe_clip(path).frames == rec.frames
        d = decode(path)
        assert [square_index(g) for g in d.gray] == [
            i % 130 for i in range(rec.first_seq, rec.first_seq + rec.frames)]
        assert rec.first_seq == opened["first_seq"] and rec.start_wall == opened["start_wall"]
        assert rec.duration == pytest.approx(rec.frames / FPS)
        assert rec.end_wall == pytest.approx(rec.start_wall + rec.duration)
        assert rec.last_seq == rec.first_seq + rec.frames - 1
        assert (rec.width, rec.height) == (320, 240)
        thumb = cv2.imdecode(np.frombuffer(store.thumbnail_path(rec.id).read_bytes(),
                                           np.uint8), cv2.IMREAD_COLOR)
        assert thumb.shape == (240, 320, 3)
    assert list((crashed / "tmp").iterdir()) == []
    assert not (crashed / "orphans").exists()
    with ClipStore(store_config(crashed)) as again:  # recovery is done once
        assert not again.recovery.changed
        assert again.get(clip_id) == rec


def test_a_clip_cut_before_its_first_fragment_goes_to_orphans(tmp_path: Path) -> None:
    crashed = tmp_path / "crashed"
    clip_id, _ = record_until_cut(tmp_path / "store", crashed, 12)
    assert (crashed / "tmp" / f"{clip_id}.open.json").exists()
    with ClipStore(store_config(crashed)) as store:
        assert store.recovery.orphans_moved == 1 and store.recovery.cut_short_indexed == 0
        assert store.list() == []
    assert [p.name for p in (crashed / "orphans").iterdir()] == [f"{clip_id}.mp4.part"]
    assert list((crashed / "tmp").iterdir()) == []


def test_a_crash_after_the_salvaged_clip_was_renamed_is_completed(tmp_path: Path) -> None:
    crashed = tmp_path / "crashed"
    clip_id, _ = record_until_cut(tmp_path / "store", crashed, 80)
    with ClipStore(store_config(crashed)) as store:
        rec = store.get(clip_id)
        journal = json.dumps(rec.to_json()).encode()
        store_index.delete_row(store._conn, clip_id)  # the crash came before the insert
    (crashed / "tmp" / f"{clip_id}.meta.json").write_bytes(journal)
    with ClipStore(store_config(crashed)) as store:
        assert store.recovery.reindexed == 1
        assert store.get(clip_id) == rec


def test_a_finished_clip_is_not_marked_cut_short(store: ClipStore, root: Path) -> None:
    rec = Recorder(CFG, INFO, store, H264Encoder(CFG))
    clips = [c for i in range(60) for c in rec.push(frame(i, FPS), 10 <= i < 30, 0.5)]
    clips += rec.close()
    assert len(clips) == 1
    got = store.get(clips[0].id)
    assert not got.cut_short
    assert list((root / "tmp").iterdir()) == []


def test_an_index_of_schema_1_gains_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    store_index.migrate(conn, store_index.MIGRATIONS[:1])
    conn.execute("INSERT INTO clips (id, start_wall, end_wall, duration, start_pts, "
                 "first_seq, last_seq, frames, width, height, size, sha256, peak_score, "
                 "held, created) VALUES ('old', 1, 2, 1, 0, 0, 24, 25, 320, 240, 9, 'ab', "
                 "0.5, 0, 3)")
    conn.close()
    conn = store_index.connect(path)
    try:
        old = store_index.get(conn, "old")
        assert old is not None and old.cut_short is False
        assert (old.trigger, old.simulated, old.clock_synced) == ("motion", False, True)
        assert (old.clock_max_error_ms, old.clock_est_error_ms) == (None, None)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store_index.SCHEMA_VERSION
    finally:
        conn.close()
    legacy = old.to_json()
    for later in ("cut_short", "trigger", "simulated", "clock_synced", "clock_max_error_ms",
                  "clock_est_error_ms"):
        del legacy[later]  # a journal written by the first version
    assert store_index.ClipRecord.from_json(legacy) == old


def test_clips_list_and_show_say_cut_short(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    crashed = tmp_path / "crashed"
    clip_id, _ = record_until_cut(tmp_path / "store", crashed, 80)
    with ClipStore(store_config(crashed)) as store:
        commit_bytes(store)
    assert main(["clips", "list", "--store", str(crashed)]) == 0
    out = capsys.readouterr().out
    assert f"cut short by a power cut or crash (saved up to the last second on disk): " \
           f"{clip_id}" in out
    assert main(["clips", "list", "--store", str(crashed), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["cut_short"] for r in rows) == [False, True]
    assert main(["clips", "show", clip_id, "--store", str(crashed), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["cut_short"] is True and shown["decodes"] is True
    assert main(["clips", "show", clip_id, "--store", str(crashed)]) == 0
    assert "cut_short: yes: recording was interrupted" in capsys.readouterr().out
