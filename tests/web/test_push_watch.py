"""What the push thread watches: the ring marker between the daemon's doorbell thread and
the web app's push thread (a newer ring once, an old or unreadable marker never, a write that
never leaves a half file for the reader), and new clips with their kind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from device.web.notify import RING_FRESH_S, RingWatch
from device.wiring.ringmark import RingMarker, read_ring, write_ring


def test_a_newer_ring_is_seen_once_and_the_one_from_before_start_never(
        tmp_path: Path) -> None:
    path = tmp_path / "doorbell.ring"
    now = time.time()
    write_ring(path, now - 5)  # rang before the web app started
    watch = RingWatch(path)
    assert watch.rang(now) is None
    RingMarker(path).ring(now)
    assert watch.rang(now + 0.1) == now
    assert watch.rang(now + 0.2) is None, "once"
    write_ring(path, now - 1)  # a clock stepped back: not newer
    assert watch.rang(now + 0.3) is None


def test_a_ring_older_than_a_minute_is_not_news(tmp_path: Path) -> None:
    path = tmp_path / "doorbell.ring"
    watch = RingWatch(path)
    assert watch.rang(time.time()) is None, "no marker yet"
    at = time.time() - RING_FRESH_S - 1
    write_ring(path, at)
    assert watch.rang(time.time()) is None


@pytest.mark.parametrize("text", ["", "{", "[]", '{"at": "soon"}', '{"at": -1}', "\xff"])
def test_an_unreadable_marker_is_no_ring(tmp_path: Path, text: str) -> None:
    path = tmp_path / "doorbell.ring"
    path.write_bytes(text.encode("latin-1"))
    assert read_ring(path) is None


def test_the_marker_is_replaced_whole_and_a_failed_write_is_only_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "doorbell.ring"
    RingMarker(path).ring(1234.5)
    assert read_ring(path) == 1234.5
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["doorbell.ring"], "no temporary left"
    RingMarker(tmp_path / "new-store" / "doorbell.ring").ring(5.0)  # before the first clip
    assert read_ring(tmp_path / "new-store" / "doorbell.ring") == 5.0
    (tmp_path / "a-file").write_bytes(b"")
    RingMarker(tmp_path / "a-file" / "doorbell.ring").ring(1.0)
    assert "could not write the ring marker" in caplog.text


def test_new_clips_carry_their_kind_and_old_ones_are_not_news(
        tmp_path: Path, template_store: Path) -> None:
    import dataclasses
    import shutil

    from device.store import index
    from device.store.files import Layout
    from device.web.kinds import Kind
    from device.web.notify import NewClips

    store = tmp_path / "store"
    shutil.copytree(template_store, store)
    clips = NewClips(store)
    assert clips.new() == [], "what is there at start is not news"
    conn = index.connect(Layout(store).index)
    try:
        [newest, *_] = index.newest_first(conn, None, None)
        ring = dataclasses.replace(newest, id=newest.id[:-8] + "0000aaaa",
                                   start_wall=newest.start_wall + 30, trigger="ring")
        motion = dataclasses.replace(newest, id=newest.id[:-8] + "0000bbbb",
                                     start_wall=newest.start_wall + 60, trigger="motion")
        index.insert(conn, ring)
        index.insert(conn, motion)
    finally:
        conn.close()
    assert clips.new() == [(ring.start_wall, ring.id, Kind.RING),
                           (motion.start_wall, motion.id, Kind.MOTION)]
    assert clips.new() == [], "each once"
