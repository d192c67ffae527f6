"""Home Assistant's camera feed on its own: which snapshots it sends (fresh, bounded, JPEG) and
how often (at once on a trigger, each snapshot once, otherwise every interval), on real files
with the monotonic clock handed in."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from device.daemon.hacamera import STALE_S, CameraFeed, Picture, read_snapshot


def jpeg(width: int = 320, height: int = 240, noise: bool = False) -> bytes:
    rng = np.random.default_rng(1)
    img = (rng.integers(0, 256, (height, width, 3), dtype=np.uint8) if noise
           else np.full((height, width, 3), 90, np.uint8))
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


def put(snap: Path, data: bytes) -> None:
    """As the live publisher renews it: a new file renamed over the old."""
    tmp = snap.with_name(".snapshot.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, snap)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sink:
    def __init__(self) -> None:
        self.pictures: list[tuple[float, bytes]] = []
        self.available: list[bool] = []
        self.clock: Clock | None = None

    def camera_image(self, data: bytes) -> None:
        assert self.clock is not None
        self.pictures.append((self.clock.now, data))

    def camera_available(self, available: bool) -> None:
        self.available.append(available)


def feed_for(snap: Path, interval: float = 10.0) -> tuple[CameraFeed, Sink, Clock]:
    sink, clock = Sink(), Clock()
    sink.clock = clock
    # The snapshot's age is judged against the file's real mtime: the wall clock is real.
    return CameraFeed(snap, sink, interval_s=interval, max_bytes=200_000, clock=clock), sink, clock


def test_read_snapshot_says_why_a_picture_is_not_sent(tmp_path: Path) -> None:
    snap = tmp_path / "snapshot.jpg"
    now = 2_000_000_000.0
    assert read_snapshot(snap, max_bytes=10_000, now=now)[:2] == (Picture.MISSING, None)
    data = jpeg()
    snap.write_bytes(data)
    os.utime(snap, (now, now))
    state, got, ident = read_snapshot(snap, max_bytes=100_000, now=now + 1.0)
    assert (state, got) == (Picture.FRESH, data)
    # The one sent last is not read again.
    assert read_snapshot(snap, max_bytes=100_000, now=now, skip=ident) == (Picture.FRESH, None,
                                                                            ident)
    assert read_snapshot(snap, max_bytes=100_000, now=now + STALE_S + 0.1)[0] is Picture.STALE
    assert read_snapshot(snap, max_bytes=100_000, now=now - STALE_S - 0.1)[0] is Picture.STALE
    assert read_snapshot(snap, max_bytes=len(data) - 1, now=now)[0] is Picture.TOO_LARGE
    snap.write_bytes(data[:-200])  # cut short: no end-of-image marker
    os.utime(snap, (now, now))
    assert read_snapshot(snap, max_bytes=100_000, now=now)[0] is Picture.NOT_JPEG
    snap.write_bytes(b"<html>" + data)
    os.utime(snap, (now, now))
    assert read_snapshot(snap, max_bytes=100_000, now=now)[0] is Picture.NOT_JPEG


def test_periodic_pictures_keep_to_the_interval(tmp_path: Path) -> None:
    snap = tmp_path / "snapshot.jpg"
    feed, sink, clock = feed_for(snap, interval=10.0)
    start = clock.now
    for i in range(281):  # 35 s of status-thread ticks every 1/8 s (exact in binary)
        clock.now = start + i / 8
        put(snap, jpeg())  # the live publisher keeps it fresh
        feed.tick()
    times = [t - start for t, _ in sink.pictures]
    assert times == [0.0, 10.0, 20.0, 30.0]
    assert sink.available == [True]


def test_a_trigger_sends_at_once_and_a_burst_stays_bounded(tmp_path: Path) -> None:
    snap = tmp_path / "snapshot.jpg"
    put(snap, jpeg())
    feed, sink, clock = feed_for(snap, interval=3600.0)
    feed.tick()
    assert len(sink.pictures) == 1  # the first tick sends one
    clock.now += 0.1
    feed.trigger()  # a ring just after the timer's picture: that picture again, at once
    assert sink.pictures[-1] == (clock.now, jpeg())
    put(snap, jpeg(160, 120))
    clock.now += 0.2
    feed.trigger()  # the next ring: the new snapshot, at once
    assert sink.pictures[-1] == (clock.now, jpeg(160, 120))
    # Ten presses before the publisher renews the snapshot: nothing sent twice for them...
    for _ in range(10):
        clock.now += 0.01
        feed.trigger()
        assert feed.pending
        feed.tick()
    assert len(sink.pictures) == 3
    # ...and the next snapshot goes at the next tick, once.
    put(snap, jpeg(80, 60))
    feed.tick()
    assert not feed.pending
    feed.tick()
    assert len(sink.pictures) == 4 and sink.pictures[-1][1] == jpeg(80, 60)


def test_a_stale_or_missing_snapshot_is_not_sent_and_says_unavailable(tmp_path: Path) -> None:
    snap = tmp_path / "snapshot.jpg"
    feed, sink, clock = feed_for(snap, interval=10.0)
    feed.tick()  # no snapshot yet
    assert sink.pictures == [] and sink.available == [False]
    put(snap, jpeg())
    clock.now += 1.0
    feed.tick()  # fresh again: a picture at once, not an interval later
    assert len(sink.pictures) == 1 and sink.available == [False, True]
    old = snap.stat().st_mtime - 60
    os.utime(snap, (old, old))  # the camera stopped: the snapshot ages
    clock.now += 1.0
    feed.tick()
    assert sink.available == [False, True, False]
    clock.now += 1.0
    feed.trigger()  # a ring while it is stale: no picture of the past
    clock.now += 20.0
    feed.tick()
    assert len(sink.pictures) == 1
    assert sink.available == [False, True, False]  # said once, not at every tick


def test_an_oversized_snapshot_is_skipped(tmp_path: Path) -> None:
    snap = tmp_path / "snapshot.jpg"
    big = jpeg(1280, 720, noise=True)
    assert len(big) > 200_000
    snap.write_bytes(big)
    feed, sink, _ = feed_for(snap)
    feed.tick()
    feed.trigger()
    assert sink.pictures == [] and sink.available == [False]


def test_soon_brings_the_next_picture_forward_once(tmp_path: Path) -> None:
    snap = tmp_path / "snapshot.jpg"
    put(snap, jpeg())
    feed, sink, clock = feed_for(snap, interval=3600.0)
    feed.tick()
    assert len(sink.pictures) == 1
    feed.soon(2.0)  # Home Assistant restarted
    clock.now += 1.0
    put(snap, jpeg(160, 120))
    feed.tick()
    assert len(sink.pictures) == 1, "not before the delay"
    clock.now += 1.0
    feed.tick()
    assert len(sink.pictures) == 2
    clock.now += 100.0
    put(snap, jpeg(80, 60))
    feed.tick()
    assert len(sink.pictures) == 2, "back to the interval"
