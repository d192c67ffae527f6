"""`doorcam simulate` and `doorcam detect` end to end, on real footage and generated scenes."""

from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from capture.media.decode import probe_clip
from tests.signing.helpers import unsigned_packets

REPO = Path(__file__).resolve().parent.parent
TRAFFIC_EVENTS = ((10, 148), (359, 490), (543, 575))  # labelled frames, in the zone below
ZONE = [[631 / 1280, 532 / 720], [841 / 1280, 532 / 720], [841 / 1280, 659 / 720],
        [631 / 1280, 659 / 720]]
PRE_ROLL = 3.0


def doorcam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def traffic_run(test_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("traffic")
    cfg = tmp / "zone.toml"
    cfg.write_text(f"[motion]\nzones = [{json.dumps(ZONE)}]\n[recording]\n"
                   f"pre_roll_seconds = {PRE_ROLL}\npost_roll_seconds = 1.0\n", encoding="utf-8")
    events = tmp / "events.jsonl"
    store = tmp / "store"
    video = test_data / "dvrscan" / "traffic_camera.mp4"
    done = doorcam("simulate", str(video), "--quiet", "--store", str(store), "--config",
                   str(cfg), "--events-jsonl", str(events))
    assert done.returncode == 0, done.stderr
    listed = doorcam("clips", "list", "--json", "--store", str(store))
    assert listed.returncode == 0, listed.stderr
    return {"events": [json.loads(line) for line in events.read_text().splitlines()],
            "clips": json.loads(listed.stdout), "store": store, "video": video, "cfg": cfg}


def test_traffic_events_match_the_labels(traffic_run: dict) -> None:
    events = traffic_run["events"]
    assert len(events) == 3, events
    for ev, (lo, hi) in zip(events, TRAFFIC_EVENTS, strict=True):
        assert ev["start_frame"] <= hi and ev["end_frame"] >= lo, (ev, lo, hi)
        assert ev["end"] >= ev["start"] and ev["clip"] in ev["clips"]
        assert all(0 <= v <= 1 for box in ev["boxes"] for v in box)


def _keyframe_times(video: Path) -> list[float]:
    with av.open(str(video)) as c:
        s = c.streams.video[0]
        return [float(p.pts * s.time_base) for p in c.demux(s) if p.is_keyframe]


def test_h264_clips_are_remuxed_and_start_within_preroll_plus_gop(traffic_run: dict) -> None:
    clips = {c["id"]: c for c in traffic_run["clips"]}
    keyframes = _keyframe_times(traffic_run["video"])
    gop = max(b - a for a, b in itertools.pairwise(keyframes))
    for ev in traffic_run["events"]:
        clip = clips[ev["clip"]]
        path = traffic_run["store"] / "clips" / f"{clip['id']}.mp4"
        probe = probe_clip(path)
        assert probe.codec == "h264"
        assert probe.frames == clip["frames"]
        assert abs(probe.duration - clip["duration"]) <= 1 / 25 + 1e-6
        onset = ev["start"]
        start = clip["start_pts"]
        # The first frame is a source keyframe, at most pre-roll + one GOP before onset.
        assert any(abs(start - k) < 1e-3 for k in keyframes), (start, keyframes)
        assert onset - (PRE_ROLL + gop) - 1e-6 <= start <= onset, (start, onset, gop)


def test_remuxed_packets_are_the_source_packets(traffic_run: dict) -> None:
    first = traffic_run["clips"][-1]  # list is newest first
    path = traffic_run["store"] / "clips" / f"{first['id']}.mp4"
    clip_packets = unsigned_packets(path)
    with av.open(str(traffic_run["video"])) as c:
        src = [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]
    n = len(clip_packets)
    starts = [i for i in range(len(src) - n + 1) if src[i] == clip_packets[0]]
    assert any(src[i:i + n] == clip_packets for i in starts), "clip was re-encoded"


def test_clips_cli_show_export_delete(traffic_run: dict, tmp_path: Path) -> None:
    store = str(traffic_run["store"])
    clip_id = traffic_run["clips"][0]["id"]
    shown = doorcam("clips", "show", clip_id, "--json", "--store", store)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["sha256_ok"] and info["decodes"] and info["decoded_frames"] == info["frames"]
    out = doorcam("clips", "export", clip_id, str(tmp_path), "--store", store)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / f"{clip_id}.mp4").stat().st_size == info["size"]
    again = doorcam("clips", "export", clip_id, str(tmp_path), "--store", store)
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
    gone = doorcam("clips", "delete", clip_id, "--store", store)
    assert gone.returncode == 0
    after = json.loads(doorcam("clips", "list", "--json", "--store", store).stdout)
    assert clip_id not in {c["id"] for c in after}
    assert len(after) == len(traffic_run["clips"]) - 1


def test_detect_csv_on_an_image_sequence(test_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames.csv"
    pattern = test_data / "wavingtrees" / "input" / "b%05d.png"
    done = doorcam("detect", str(pattern), "--frames-csv", str(out))
    assert done.returncode == 0, done.stderr
    assert "frames/s" in done.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["frame", "motion", "event", "score", "boxes", "people",
                            "people_boxes"]
    assert [int(r["frame"]) for r in rows] == list(range(287))
    events = [int(r["event"]) for r in rows]
    assert not any(events[:242]), "an event on the swaying tree alone"
    onset = events.index(1)
    assert 242 <= onset <= 252
    assert all(r["boxes"] for r in rows if r["motion"] == "1")


def test_synthetic_demo_scene_stores_clips_per_visit(tmp_path: Path) -> None:
    events = tmp_path / "ev.jsonl"
    done = doorcam("simulate", "synthetic:porch?size=320x240", "--store", str(tmp_path / "s"),
                   "--events-jsonl", str(events))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in events.read_text().splitlines()]
    assert len(lines) == 2, lines  # the scene has two visits and one exposure jump
    assert "2 clip(s) stored in" in done.stdout
    assert "motion event 1 started" in done.stderr


def test_an_output_file_that_cannot_be_written_is_bad_input(tmp_path: Path) -> None:
    """--frames-csv and --events-jsonl in a folder that is not there: exit 2, one line naming
    the option and the path, and no store made."""
    missing = tmp_path / "no-such-folder"
    for args, option, name in (
            (["detect", "synthetic:porch?size=320x240&seconds=1", "--frames-csv"],
             "--frames-csv", "f.csv"),
            (["simulate", "synthetic:porch?size=320x240&seconds=1", "--store",
              str(tmp_path / "s"), "--events-jsonl"], "--events-jsonl", "e.jsonl")):
        done = doorcam(*args, str(missing / name))
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"doorcam: {option} {missing / name}: cannot be written (No such " \
            "file or directory)\n"
    assert not (tmp_path / "s").exists()
