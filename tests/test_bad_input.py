"""Bad input to `doorcam simulate`: one line naming the problem, exit 2, store untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SMALL = "synthetic:porch?seconds=20&size=320x240"


def doorcam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=180)


def write_video(path: Path, codec: str, frames: int = 60,
                options: dict[str, str] | None = None) -> Path:
    with av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream(codec, rate=15)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(frames):
            img = np.full((240, 320, 3), 90, np.uint8)
            cv2.rectangle(img, (10 + 4 * i, 60), (60 + 4 * i, 180), (20, 30, 200), -1)
            for pkt in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)
    return path


def snapshot(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((store / "clips").glob("*.mp4"))}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad") / "store"
    done = doorcam("simulate", SMALL, "--quiet", "--store", str(root))
    assert done.returncode == 0, done.stderr
    assert snapshot(root), "the setup run stored no clip"
    return root


def _truncated(tmp: Path) -> Path:
    path = write_video(tmp / "cut.mkv", "libx264", 90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _truncated_mp4(tmp: Path) -> Path:
    """An MP4 with its index in front, cut short: its last sample is read short (the H.264
    packets go into clips as they are, so they must not be cut)."""
    path = write_video(tmp / "cut.mp4", "libx264", 90, {"movflags": "faststart"})
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "the index is not in front"
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def _damaged_avcc(tmp: Path) -> Path:
    """An MP4 whose H.264 parameter-set record (avcC) claims 31 SPS it does not hold."""
    path = write_video(tmp / "avcc.mp4", "libx264", 30)
    data = bytearray(path.read_bytes())
    at = data.find(b"avcC") + 4
    assert at > 4 and data[at] == 1, "no avcC record"
    data[at + 5] = 0xE0 | 31
    path.write_bytes(bytes(data))
    return path


def _corrupt_frame(tmp: Path) -> Path:
    path = write_video(tmp / "corrupt.avi", "mpeg4", 90)
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid: mid + 2000] = bytes(2000)
    path.write_bytes(bytes(data))
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.mp4"
    path.write_bytes(b"")
    return path


def _mixed_sizes(tmp: Path) -> Path:
    folder = tmp / "frames"
    folder.mkdir()
    for i in range(12):
        size = (240, 320) if i < 8 else (120, 160)
        cv2.imwrite(str(folder / f"f{i:03d}.png"), np.full((*size, 3), 40 + i, np.uint8))
    return folder


def _bad_config(tmp: Path) -> Path:
    path = tmp / "bad.toml"
    path.write_text("[motion]\nthreshold = -3\n", encoding="utf-8")
    return path


def _text_file(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("".join(f"line {i}: the porch camera's notes, nothing to see\n"
                            for i in range(200)))
    with av.open(str(path)) as drawn:  # what FFmpeg alone makes of it: pictures
        assert drawn.streams.video and drawn.streams.video[0].codec_context.name == "ansi"
    return path


CASES = {
    "truncated video": (_truncated, "input ended early"),
    "truncated mp4, index in front": (_truncated_mp4, "input ended early"),
    "corrupt frame": (_corrupt_frame, "damaged frame"),
    "damaged avcC record": (_damaged_avcc, "no decodable video frames"),
    "empty file": (_empty, "empty"),
    "missing file": (lambda tmp: tmp / "nope.mp4", "not found"),
    "image folder with mixed sizes": (_mixed_sizes, "f008.png"),
    "text file": (_text_file, "notes.txt: a text file, not a video"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_source(case: str, store: Path, tmp_path: Path) -> None:
    make, expected = CASES[case]
    before = snapshot(store)
    source = make(tmp_path)
    done = doorcam("simulate", str(source), "--quiet", "--store", str(store))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("doorcam: "), done.stderr
    assert expected in lines[0], lines[0]
    assert "Traceback" not in done.stderr
    after = snapshot(store)
    assert {k: v for k, v in after.items() if k in before} == before, "stored clips changed"


def test_bad_config(store: Path, tmp_path: Path) -> None:
    before = snapshot(store)
    cfg = _bad_config(tmp_path)
    done = doorcam("simulate", SMALL, "--quiet", "--store", str(store), "--config", str(cfg))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"doorcam: config error: {cfg}:2: motion.threshold = -3: "
                                   "must be between 1 and 254")
    assert snapshot(store) == before


def test_bad_speed_and_clip_id(store: Path, tmp_path: Path) -> None:
    done = doorcam("simulate", SMALL, "--speed", "fast", "--store", str(store))
    assert done.returncode == 2 and "--speed" in done.stderr
    conf = tmp_path / "doorcam.toml"
    conf.write_text(f'[store]\npath = "{store}"\n', encoding="utf-8")
    for speed in ("-1", "nan", "fast"):  # the daemon too: one line, before anything starts
        ran = doorcam("run", "--speed", speed, "--config", str(conf))
        assert ran.returncode == 2, ran.stderr
        assert ran.stderr.strip().splitlines() == [
            f"doorcam: --speed must be realtime, max or a number 0.01..1000, not '{speed}'"]
    for bad in ("../../etc/passwd", "x" * 300, "20261128T000000Z-zzzzzzzz"):
        shown = doorcam("clips", "show", bad, "--store", str(store))
        assert shown.returncode == 2, shown.stderr
        assert len(shown.stderr.strip().splitlines()) == 1 and "Traceback" not in shown.stderr


def test_store_path_holding_other_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    (home / "tmp" / "draft.txt").write_text("notes", encoding="utf-8")
    done = doorcam("simulate", SMALL, "--quiet", "--store", str(home))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"doorcam: store: {home} is not a clip store (no index.sqlite3) but its tmp/ holds "
        "files a store would take as its own: check --store or store.path in the config, or "
        "choose a new or empty directory"]
    assert (home / "tmp" / "draft.txt").read_text(encoding="utf-8") == "notes"
    assert sorted(p.name for p in home.iterdir()) == ["tmp"]


def test_output_over_the_source_video_is_refused(store: Path, tmp_path: Path) -> None:
    video = write_video(tmp_path / "porch.mp4", "libx264", 30)
    before = video.read_bytes()
    for args in (["detect", str(video), "--frames-csv", f"{tmp_path}/./porch.mp4"],
                 ["simulate", str(video), "--quiet", "--store", str(store), "--events-jsonl",
                  str(video)]):
        done = doorcam(*args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"doorcam: {args[-2]} {args[-1]} is the source video itself: writing it would "
            "destroy the video; choose another file"]
        assert video.read_bytes() == before
    csv_out = tmp_path / "frames.csv"
    assert doorcam("detect", str(video), "--frames-csv", str(csv_out)).returncode == 0
    assert csv_out.read_text(encoding="utf-8").startswith("frame,")


@pytest.mark.parametrize("command", ["detect", "simulate"])
def test_empty_source_is_named(command: str, store: Path) -> None:
    """An unset shell variable (`doorcam detect "$VIDEO"`) is not the camera or a default."""
    done = doorcam(command, "", "--store", str(store)) if command == "simulate" else doorcam(
        command, " ")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "doorcam: the source is empty: give a video file, an image folder or pattern, or "
        "synthetic:NAME"]
