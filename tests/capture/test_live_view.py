"""The live view's publisher: fragmented MP4 that FFmpeg (PyAV) decodes, an HLS playlist it
plays, the source's own packets untouched, a bounded ring, and tmpfs only."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from pathlib import Path

import av
import numpy as np
import pytest

from capture.frame import Packet
from capture.live import LiveDirError, open_live
from capture.live.fmp4 import AccessUnits
from capture.live.place import filesystem_of, prepare_dir
from capture.live.publisher import GOP_TMP, MAX_BYTES, LivePublisher
from capture.media import encoder_for
from capture.sources import open_source
from capture.sources import stamp as stamps
from common.livefiles import is_live_file
from common.mediasign.nal import split_length_prefixed
from config.live import LiveConfig
from config.schema import CaptureConfig, RecordingConfig

LIVE = LiveConfig()



def publish(spec: str, directory: Path, cfg: LiveConfig = LIVE,
            packets: list[Packet] | None = None) -> LivePublisher:
    """Run a source through the encoder the recorder would use, into the live directory."""
    src = open_source(spec, CaptureConfig(), pace=None)
    enc = encoder_for(src.info, RecordingConfig())
    info = enc.start(src.info)
    feed = open_live(directory, cfg)
    for f in src.frames():
        out = enc.encode(f)
        if packets is not None:
            packets.extend(out)
        feed.packets(info, f, out)
        while feed.step(0):
            pass
    src.close()
    return feed.publisher


def joined(directory: Path) -> bytes:
    index = json.loads((directory / "live.json").read_bytes())
    return (directory / index["init"]).read_bytes() + b"".join(
        (directory / f"f{f['n']}.m4s").read_bytes() for f in index["fragments"])


def decode(path: str) -> list[np.ndarray]:
    with av.open(path) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def test_fragments_decode_and_carry_each_frames_capture_time(shm: Path, tmp_path: Path) -> None:
    publish("synthetic:empty?seconds=3&size=320x240&fps=25&stamp=1", shm,
            LiveConfig(window_seconds=30))
    index = json.loads((shm / "live.json").read_bytes())
    assert index["codec"].startswith("avc1.")
    frags = index["fragments"]
    assert frags[0]["independent"] and frags[0]["start"] == 0
    # Every fragment is about fragment_seconds, cut at keyframes (1 s GOP at 25 fps).
    assert all(0.2 <= f["duration"] <= 0.6 for f in frags[1:-1]), frags
    assert sum(f["independent"] for f in frags) == 3
    for a, b in itertools.pairwise(frags):
        assert abs(a["start"] + a["duration"] - b["start"]) < 1e-3  # no holes
    movie = tmp_path / "joined.mp4"
    movie.write_bytes(joined(shm))
    pictures = decode(str(movie))
    assert len(pictures) == 75
    read = [stamps.read(p) for p in pictures]
    assert None not in read
    assert all(b >= a for a, b in itertools.pairwise(read))  # in capture order
    assert (frags[0]["wall"] * 1000) % 2**32 == pytest.approx(read[0], abs=2)


def test_a_player_may_start_at_any_independent_fragment(shm: Path, tmp_path: Path) -> None:
    publish("synthetic:porch?seconds=4&size=320x240&fps=25", shm, LiveConfig(window_seconds=30))
    index = json.loads((shm / "live.json").read_bytes())
    later = [f for f in index["fragments"] if f["independent"]][1]
    movie = tmp_path / "late.mp4"
    movie.write_bytes((shm / index["init"]).read_bytes() + b"".join(
        (shm / f"f{f['n']}.m4s").read_bytes() for f in index["fragments"]
        if f["n"] >= later["n"]))
    assert len(decode(str(movie))) == 75  # the last three seconds


def test_hls_playlist_is_valid_and_ffmpeg_plays_it(shm: Path) -> None:
    publish("synthetic:porch?seconds=8&size=320x240&fps=25", shm)
    lines = (shm / "live.m3u8").read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    tags = dict(line.partition(":")[::2] for line in lines if line.startswith("#EXT-X-"))
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in tags
    target = int(tags["#EXT-X-TARGETDURATION"])
    assert tags["#EXT-X-MAP"] == 'URI="init-1.mp4"' and (shm / "init-1.mp4").exists()
    assert "#EXT-X-ENDLIST" not in lines  # live: players reload it
    durations = [float(line[8:].rstrip(",")) for line in lines if line.startswith("#EXTINF:")]
    uris = [line for line in lines if line and not line.startswith("#")]
    assert len(uris) == len(durations) == 6  # the newest six GOPs
    assert all(d <= target + 0.5 for d in durations)  # RFC 8216 4.3.3.1 (rounded)
    assert all(is_live_file(u) and (shm / u).exists() for u in uris)
    sequence = int(tags["#EXT-X-MEDIA-SEQUENCE"])
    assert uris[0] == f"s{sequence}.m4s"
    # Each segment starts with a keyframe (EXT-X-INDEPENDENT-SEGMENTS), and FFmpeg's HLS
    # demuxer reads the playlist by its path and decodes what it lists.
    # A live playlist has no end: it is read from its first segment until all six GOPs have
    # decoded (FFmpeg would then wait for the playlist to grow).
    frames = 0
    with av.open(str(shm / "live.m3u8"), options={"live_start_index": "0"}) as c:
        for _ in c.decode(video=0):
            frames += 1
            if frames == 6 * 25:
                break
    assert frames == 6 * 25


def test_the_sources_own_packets_are_published_untouched(shm: Path, tmp_path: Path) -> None:
    """An H.264 file (avcC, length-prefixed, with B-frames): its NAL units reach the
    fragments byte for byte (no decoding, no re-encoding)."""
    from tests.capture.conftest import write_video

    video = write_video(tmp_path / "b.mp4", frames=50, size=(160, 120),
                        options={"g": "10", "bf": "2"})
    packets: list[Packet] = []
    publish(str(video), shm, LiveConfig(window_seconds=30), packets)
    with av.open(str(video)) as c:
        extradata = bytes(c.streams.video[0].codec_context.extradata or b"")
    units = AccessUnits(extradata)
    source = [u for p in packets for u in units.units(p.data) if u[0] & 0x1F not in (7, 8, 9)]
    movie = tmp_path / "joined.mp4"
    movie.write_bytes(joined(shm))
    with av.open(str(movie)) as c:
        got = [u for p in c.demux(video=0) if p.size
               for u in split_length_prefixed(bytes(p))]
        pts_dts = [(p.pts, p.dts) for p in av.open(str(movie)).demux(video=0) if p.size]
    # All but the fragment still being filled when the file ended, in order.
    assert got == source[:len(got)] and len(source) - len(got) < 12
    assert any(pts != dts for pts, dts in pts_dts)  # B-frames keep their reordering
    assert len(decode(str(movie))) >= 40


def test_the_ring_is_bounded_in_time_and_bytes(shm: Path) -> None:
    cfg = LiveConfig(window_seconds=2.0, fragment_seconds=0.5)
    pub = publish("synthetic:porch?seconds=20&size=320x240&fps=25", shm, cfg)
    frags = pub.fragments
    span = frags[-1].start + frags[-1].duration - frags[0].start
    assert span <= 2.0 + 0.6
    names = sorted(os.listdir(shm))
    assert len([n for n in names if n.endswith(".m4s") and n[0] == "f"]) == len(frags) <= 6
    assert len([n for n in names if n.endswith(".m4s") and n[0] == "s"]) == 6
    on_disk = sum((shm / n).stat().st_size for n in names)
    assert on_disk == pub.nbytes < MAX_BYTES
    assert pub.written > 3 * on_disk  # far more went through than is kept
    # No temporary files left, but the next HLS segment, which its GOP is still filling.
    assert {n for n in names if not is_live_file(n)} <= {GOP_TMP}


def test_lost_packets_wait_for_a_keyframe_and_leave_no_hole(shm: Path, tmp_path: Path) -> None:
    src = open_source("synthetic:porch?seconds=4&size=320x240&fps=25", CaptureConfig(),
                      pace=None)
    enc = encoder_for(src.info, RecordingConfig())
    info = enc.start(src.info)
    pub = LivePublisher(shm, LiveConfig(window_seconds=30))
    pub.start(info)
    for f in src.frames():
        for p in enc.encode(f):
            if f.seq == 30:
                pub.gap()
            if 30 <= f.seq < 40:
                continue  # the queue dropped these
            pub.add(p, f.wall)
    frags = pub.fragments
    for a, b in itertools.pairwise(frags):
        assert abs(a.start + a.duration - b.start) < 1e-3
    assert pub.skipped == 10  # 40..49: waiting for the keyframe at 50
    movie = tmp_path / "gap.mp4"
    movie.write_bytes(joined(shm))
    assert len(decode(str(movie))) == 100 - 20


def test_a_new_picture_size_starts_a_new_generation(shm: Path, tmp_path: Path) -> None:
    pub = LivePublisher(shm, LiveConfig(window_seconds=30))
    for size in ("320x240", "160x120"):
        src = open_source(f"synthetic:porch?seconds=2&size={size}&fps=25", CaptureConfig(),
                          pace=None)
        enc = encoder_for(src.info, RecordingConfig())
        info = enc.start(src.info)
        pub.start(info)
        for f in src.frames():
            for p in enc.encode(f):
                pub.add(p, f.wall)
    index = json.loads((shm / "live.json").read_bytes())
    assert index["generation"] == 2 and index["init"] == "init-2.mp4"
    assert not (shm / "init-1.mp4").exists()
    movie = tmp_path / "second.mp4"
    movie.write_bytes(joined(shm))
    pictures = decode(str(movie))
    assert pictures[0].shape[:2] == (120, 160) and len(pictures) == 50


def test_the_directory_must_be_on_tmpfs_and_ours(shm: Path, tmp_path: Path) -> None:
    # 0750: the web app (its own user, in the daemon's group) reads it; nobody else.
    assert prepare_dir(shm) == shm and oct(shm.stat().st_mode & 0o777) == "0o750"
    assert filesystem_of(tmp_path) not in ("tmpfs", "ramfs")  # precondition: a disk
    with pytest.raises(LiveDirError, match="not tmpfs"):
        open_live(tmp_path / "live", LIVE)
    assert not (tmp_path / "live" / "live.json").exists()
    (shm.parent / "file").write_text("x")
    with pytest.raises(LiveDirError, match="not a directory"):
        prepare_dir(shm.parent / "file")
    (shm.parent / "link").symlink_to(shm)
    with pytest.raises(LiveDirError, match="not a directory"):
        prepare_dir(shm.parent / "link")


def test_snapshot_is_a_current_jpeg_and_stale_files_go(shm: Path) -> None:
    prepare_dir(shm)
    (shm / "f99.m4s").write_bytes(b"old")  # left by a publisher before a restart
    (shm / "notes.txt").write_text("not ours")
    pub = publish("synthetic:porch?seconds=1&size=1920x1080&fps=25", shm)
    assert not (shm / "f99.m4s").exists() and (shm / "notes.txt").exists()
    import cv2

    jpeg = cv2.imdecode(np.frombuffer((shm / "snapshot.jpg").read_bytes(), np.uint8),
                        cv2.IMREAD_COLOR)
    assert jpeg.shape[:2] == (720, 1280)  # snapshot_width caps 1920 at 1280
    pub.close()
    assert [n for n in os.listdir(shm)] == ["notes.txt"]


def test_feed_drops_and_counts_when_the_live_thread_lags(shm: Path) -> None:
    src = open_source("synthetic:porch?seconds=2&size=320x240&fps=25", CaptureConfig(),
                      pace=None)
    enc = encoder_for(src.info, RecordingConfig())
    info = enc.start(src.info)
    feed = open_live(shm, LIVE)
    for f in src.frames():  # nobody drains the queue: it never blocks, it drops
        feed.packets(info, f, enc.encode(f))
    assert feed.dropped == 50 - 16
    while feed.step(0):
        pass
    # What was left after the loss starts at no keyframe: nothing is published yet.
    assert feed.publisher.fragments == [] and feed.publisher.skipped == 16


def test_stamp_survives_a_round_trip() -> None:
    picture = np.full((240, 320, 3), 90, np.uint8)
    out = stamps.paint(picture, 1796590017.963)
    assert stamps.read(out) == 1796590017963 % 2**32
    assert picture[0, 0, 0] == 90  # painted on a copy
    out[:9, 9:18] = 255 - out[:9, 9:18]  # one flipped block: the check fails
    assert stamps.read(out) is None


def test_a_packet_that_is_not_h264_costs_a_gap_not_the_live_thread(shm: Path) -> None:
    src = open_source("synthetic:porch?seconds=3&size=320x240&fps=25", CaptureConfig(),
                      pace=None)
    enc = encoder_for(src.info, RecordingConfig())
    info = enc.start(src.info)
    avcc = dataclasses.replace(info, extradata=bytes([1, 0x64, 0, 0x1E, 0xFF, 0xE0, 0]))
    feed = open_live(shm, LIVE)
    for f in src.frames():
        out = enc.encode(f)
        if f.seq == 30:  # length-prefixed per its avcC, but the length runs past the end
            feed.packets(avcc, f, [Packet(b"\xff\xff\xff\xff\x65", f.pts, 0.04, False)])
        else:
            feed.packets(info, f, out)
        while feed.step(0):
            pass
    assert feed.bad_packets == 1
    assert len({p.n for p in feed.publisher.fragments}) >= 4  # it went on after the keyframe


def test_privacy_masks_are_in_the_live_video_and_the_snapshot(shm: Path, tmp_path: Path) -> None:
    """A file's own packets show what a mask hides, so with masks they are re-encoded from
    masked pictures (as clips are): the live view shows the masks too."""
    import cv2

    from capture.privacy import PrivacyMask
    from tests.capture.conftest import write_video

    video = write_video(tmp_path / "in.mp4", frames=50, size=(320, 240), options={"g": "25"})
    mask = PrivacyMask([[[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]])  # right half
    src = open_source(str(video), CaptureConfig(), pace=None, privacy=mask)
    enc = encoder_for(src.info, RecordingConfig())
    info = enc.start(src.info)
    feed = open_live(shm, LiveConfig(window_seconds=30))
    for f in src.frames():
        feed.packets(info, f, enc.encode(f))
        while feed.step(0):
            pass
    movie = tmp_path / "live.mp4"
    movie.write_bytes(joined(shm))
    pictures = decode(str(movie))
    assert pictures, "nothing published"
    for p in pictures:
        assert p[:, 168:].max() < 24  # black (give or take the encoder)
        assert p[:, :150].mean() > 40  # the unmasked half still shows the scene
    snap = cv2.imdecode(np.frombuffer((shm / "snapshot.jpg").read_bytes(), np.uint8),
                        cv2.IMREAD_COLOR)
    assert snap[:, 168:].max() < 24 and snap[:, :150].mean() > 40


def test_each_segment_is_its_gops_fragments_byte_for_byte_across_a_gap(shm: Path) -> None:
    """Segments are built in a file beside the fragments while their GOP lasts; packets lost
    in the middle of a GOP leave no part of it in any segment."""
    src = open_source("synthetic:porch?seconds=9&size=320x240&fps=25", CaptureConfig(),
                      pace=None)
    enc = encoder_for(src.info, RecordingConfig())
    info = enc.start(src.info)
    pub = LivePublisher(shm, LiveConfig(window_seconds=30))
    pub.start(info)
    for f in src.frames():
        for p in enc.encode(f):
            pub.add(p, f.wall)
        if f.seq == 110:  # mid-GOP: what came before it is published, the GOP is not
            pub.gap()
    src.close()
    frags = {p.n: (shm / f"f{p.n}.m4s").read_bytes() for p in pub.fragments}
    starts = [p.n for p in pub.fragments if p.independent]
    lines = (shm / "live.m3u8").read_text().splitlines()
    segments = [(shm / u).read_bytes() for u in lines if u and not u.startswith("#")]
    assert len(segments) >= 5
    published = {p.n: p for p in pub.fragments}
    gops = {}  # the fragments from one keyframe to the next, and how long they last
    for a, b in itertools.pairwise(starts):
        gops[b"".join(frags[n] for n in range(a, b))] = sum(
            published[n].duration for n in range(a, b))
    cut_short = [g for g, d in gops.items() if d < 0.9]  # the GOP the gap cut
    assert len(cut_short) == 1 and len(segments) == 6
    for seg in segments:
        assert seg in gops and gops[seg] >= 0.9
    pub.close()
    assert not shm.exists()
