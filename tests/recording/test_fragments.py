"""Fragmented writing: what is on disk after each fsync decodes, up to its last fragment."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.frame import Packet, StreamInfo
from capture.media.fragments import SalvageError, jpeg_thumbnail, salvage, scan
from capture.media.h264 import H264Encoder
from capture.media.mux import Mp4Writer
from capture.recording import Recorder
from capture.recording.sink import ClipHandle, ClipMeta, ClipOpened
from common.mediasign.mp4 import h264_track
from config.schema import RecordingConfig
from tests.recording.helpers import WALL0, decode, frame, packet_bytes, square_index
from tests.support import require

FPS = 25.0
INFO = StreamInfo(320, 240, FPS, "rawvideo", name="synthetic")
CFG = RecordingConfig(keyframe_interval_seconds=2.0, preset="ultrafast")


def encode(n: int) -> tuple[StreamInfo, list[Packet]]:
    enc = H264Encoder(CFG)
    out = enc.start(INFO)
    packets = [p for i in range(n) for p in enc.encode(frame(i, FPS))]
    return out, packets + enc.stop()


def boxes(data: bytes) -> list[bytes]:
    kinds, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        kinds.append(data[pos + 4:pos + 8])
        pos += size
    return kinds


def write_fragmented(path: Path, packets: list[Packet]
                     ) -> tuple[Mp4Writer, list[tuple[int, int]], bytes]:
    """Write all packets; the (synced size, frames in it) after each fsync, and the file
    as it is on disk just before close."""
    w = Mp4Writer(path, INFO, fragment_seconds=1.0)
    synced: list[tuple[int, int]] = []
    for i, p in enumerate(packets):
        before = w.syncs
        w.write(p)
        if w.syncs > before:
            # The packet that ended a fragment opens the next one: frames 0..i-1 are safe.
            synced.append((path.stat().st_size, i))
    return w, synced, path.read_bytes()


def test_fragments_are_synced_as_written_and_the_closed_clip_is_standard(
        tmp_path: Path) -> None:
    _, packets = encode(150)
    path = tmp_path / "a.mp4"
    w, synced, on_disk = write_fragmented(path, packets)
    assert boxes(on_disk)[:2] == [b"ftyp", b"moov"]
    assert boxes(on_disk).count(b"moof") == 5  # one per second of media; the 6th is held
    assert [n for _, n in synced] == [0, 25, 50, 75, 100, 125]  # header, then fragments
    assert w.syncs == len(synced)
    assert w.close() == (150, pytest.approx(6.0))
    data = path.read_bytes()
    kinds = boxes(data)
    assert kinds[:2] == [b"ftyp", b"moov"] and b"mdat" in kinds  # faststart
    assert b"moof" not in kinds  # a standard MP4 for browsers and ffprobe
    assert not path.with_name("a.mp4.std").exists()
    d = decode(path)
    assert [square_index(g) for g in d.gray] == [i % 130 for i in range(150)]
    assert d.pts == pytest.approx([i / FPS for i in range(150)])
    assert scan(path).finished and not scan(path).fragmented


def test_a_clip_cut_at_any_byte_after_a_sync_decodes_to_its_last_fragment(
        tmp_path: Path) -> None:
    _, packets = encode(250)
    path = tmp_path / "b.mp4"
    w, synced, on_disk = write_fragmented(path, packets)
    w.discard()  # the power cut: no trailer, no rewrite
    rng = random.Random(7)
    ends = [size for size, _ in synced[1:]] + [len(on_disk) + 1]
    cuts = 0
    for (size, frames), end in zip(synced[1:], ends[1:], strict=True):
        for offset in {size, end - 1, *(rng.randrange(size, end) for _ in range(3))}:
            cut = tmp_path / "cut.mp4"
            cut.write_bytes(on_disk[:offset])
            got = salvage(cut, tmp_path / "out.mp4")
            assert got.frames == frames, offset
            assert not got.prefix.finished
            d = decode(tmp_path / "out.mp4")  # every frame decodes
            assert [square_index(g) for g in d.gray] == [i % 130 for i in range(frames)]
            assert got.duration == pytest.approx(frames / FPS)
            assert got.thumbnail_decoded and got.thumbnail_jpeg[:2] == b"\xff\xd8"
            assert cut.read_bytes() == on_disk[:offset]  # the source is left as it was
            cuts += 1
    assert cuts >= 30


def test_nothing_decodable_is_refused_with_one_line(tmp_path: Path) -> None:
    _, packets = encode(30)
    path = tmp_path / "c.mp4"
    _, synced, on_disk = write_fragmented(path, packets)
    header, first_fragment = synced[0][0], synced[1][0]
    plain = tmp_path / "plain.mp4"
    w = Mp4Writer(plain, INFO, faststart=False)
    for p in packets:
        w.write(p)
    w.close()
    no_index = plain.read_bytes()
    no_index = no_index[:no_index.rindex(b"moov") - 4]  # cut before the index was written
    cases = {"empty": b"", "garbage": random.Random(1).randbytes(5000),
             "header only": on_disk[:header],
             "torn first fragment": on_disk[:first_fragment - 1],
             "no index": no_index}
    for name, data in cases.items():
        src = tmp_path / "x.mp4"
        src.write_bytes(data)
        with pytest.raises(SalvageError) as err:
            salvage(src, tmp_path / "out.mp4")
        assert "\n" not in str(err.value), name
        assert not (tmp_path / "out.mp4").exists(), name


def test_b_frames_survive_a_cut(tmp_path: Path,
                                traffic: tuple[list[Packet], bytes]) -> None:
    packets, avcc = traffic
    info = StreamInfo(1280, 720, FPS, "h264", extradata=avcc)
    path = tmp_path / "t.mp4"
    w = Mp4Writer(path, info, fragment_seconds=1.0)
    for p in packets[:200]:
        w.write(p)
    on_disk = path.read_bytes()
    w.discard()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(on_disk[:len(on_disk) - 10])
    got = salvage(cut, tmp_path / "out.mp4")
    assert 150 <= got.frames < 200
    d = decode(tmp_path / "out.mp4")
    assert len(d.gray) == got.frames
    # B-frames and no edit list (capture.media.mp4opts): the first picture shows a frame late.
    assert d.pts[0] == pytest.approx(1 / FPS)
    assert got.thumbnail_decoded


class NotingSink:
    """A sink whose handles ask for the opened note; keeps what the recorder commits."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.committed: list[ClipMeta] = []

    def begin(self) -> ClipHandle:
        return ClipHandle("c1", self.root / "c1.mp4.part", self.root / "c1.open.json")

    def commit(self, handle: ClipHandle, meta: ClipMeta) -> None:
        self.committed.append(meta)

    def abort(self, handle: ClipHandle) -> None:
        pass


def test_the_recorder_notes_the_start_before_the_first_fragment(tmp_path: Path) -> None:
    sink = NotingSink(tmp_path)
    cfg = RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.2,
                          keyframe_interval_seconds=0.4, preset="ultrafast")
    rec = Recorder(cfg, INFO, sink, H264Encoder(cfg))
    for i in range(40):
        rec.push(frame(i, FPS), i >= 30, 0.5)
    note = tmp_path / "c1.open.json"
    opened = ClipOpened.from_json(json.loads(note.read_bytes()))
    assert opened.id == "c1" and (opened.width, opened.height, opened.fps) == (320, 240, FPS)
    for i in range(40, 60):
        rec.push(frame(i, FPS), False, 0.0)
    rec.close()
    meta = sink.committed[0]
    assert opened.start_wall == pytest.approx(meta.start_wall)
    assert opened.start_wall == pytest.approx(WALL0 + opened.start_pts)
    assert (opened.start_pts, opened.first_seq) == (pytest.approx(meta.start_pts),
                                                    meta.first_seq)


@pytest.mark.parametrize("data", [
    [], {"id": "c1"}, {"id": "c1", "start_wall": math.nan, "start_pts": 0.0, "first_seq": 0,
                       "width": 1, "height": 1, "fps": 1.0},
    {"id": "c1", "start_wall": 1.0, "start_pts": 0.0, "first_seq": True, "width": 1,
     "height": 1, "fps": 1.0},
])
def test_a_bad_note_is_a_value_error(data: object) -> None:
    with pytest.raises(ValueError):
        ClipOpened.from_json(data)


def test_placeholder_thumbnail_has_the_clip_shape() -> None:
    jpeg = jpeg_thumbnail(None, (640, 480), 320)
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (240, 320, 3)


def _io_written() -> int:
    """Bytes this process has passed to write() so far."""
    io_stats = Path("/proc/self/io")
    require(io_stats.exists(), "needs Linux's per-process I/O counters (/proc/self/io)")
    for line in io_stats.read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def _record(path: Path, packets: list[Packet], info: StreamInfo,
            moov_reserve: int | None = None) -> int:
    """Record as the recorder does; bytes written by close."""
    w = Mp4Writer(path, info, fragment_seconds=1.0, moov_reserve=moov_reserve)
    for p in packets:
        w.write(p)
    before = _io_written()
    assert w.close()[0] == len(packets)
    return _io_written() - before


def test_a_closed_clip_is_copied_once_with_its_index_in_front(
        tmp_path: Path, traffic: tuple[list[Packet], bytes]) -> None:
    packets, avcc = traffic
    packets = packets[:200]  # two GOPs with B-frames
    info = StreamInfo(1280, 720, FPS, "h264", extradata=avcc)
    one, two = tmp_path / "one.mp4", tmp_path / "two.mp4"
    once = _record(one, packets, info)
    twice = _record(two, packets, info, moov_reserve=0)  # FFmpeg's faststart pass
    size = one.stat().st_size
    # Close writes the last fragment (< 1 s of 8 s here), then the copy; FFmpeg's pass
    # also moves the copy.
    assert twice - once > 0.95 * two.stat().st_size
    assert size < once < 1.15 * size
    kinds = boxes(one.read_bytes())
    assert kinds[:3] == [b"ftyp", b"moov", b"free"] and b"moof" not in kinds
    assert kinds.index(b"moov") < kinds.index(b"mdat")
    # The index is exact (our own MP4 reader, no FFmpeg) and the packets are those written.
    data, track = one.read_bytes(), h264_track(one)
    assert [data[o:o + n] for o, n in zip(track.offsets, track.sizes, strict=True)] == [
        p.data for p in packets]
    assert packet_bytes(two) == [p.data for p in packets]
    d = decode(one)
    assert len(d.pts) == len(packets)
    # B-frames and no edit list (capture.media.mp4opts): the first picture shows a frame late.
    assert d.pts[0] == pytest.approx(1 / FPS)
    assert not one.with_name("one.mp4.std").exists()


def test_an_index_that_outgrows_its_reserve_is_moved_to_the_front_instead(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _, packets = encode(60)
    path, before = tmp_path / "small.mp4", tmp_path / "before.mp4"
    _record(before, packets, INFO, moov_reserve=0)
    assert "reserved for the index" not in caplog.text
    written = _record(path, packets, INFO, moov_reserve=64)
    assert "with 64 bytes reserved for the index failed" in caplog.text
    size = path.stat().st_size
    assert written > 2 * size  # the failed copy, then the copy and its move
    kinds = boxes(path.read_bytes())
    assert kinds[:2] == [b"ftyp", b"moov"] and b"moof" not in kinds and b"mdat" in kinds
    assert packet_bytes(path) == packet_bytes(before)
    assert len(packet_bytes(path)) == 60
    assert [square_index(g) for g in decode(path).gray] == list(range(60))
    assert not path.with_name("small.mp4.std").exists()
