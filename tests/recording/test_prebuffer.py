"""PreBuffer: time window from a keyframe, byte cap, no orphaned packets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from capture.frame import Packet
from capture.recording.prebuffer import Entry, PreBuffer


def entry(i: int, gop: int, size: int = 100, fps: float = 25.0) -> Entry:
    p = Packet(bytes(size), i / fps, 1 / fps, i % gop == 0)
    return Entry(p, i, p.pts, 0.0)


@settings(max_examples=60, deadline=None)
@given(gop=st.integers(1, 60), seconds=st.floats(0.1, 5.0), n=st.integers(1, 400))
def test_window_starts_at_latest_keyframe_before_horizon(gop: int, seconds: float,
                                                         n: int) -> None:
    buf = PreBuffer(seconds, 10**9)
    for i in range(n):
        buf.add(entry(i, gop))
    items = list(buf)
    assert items[0].packet.keyframe
    assert [e.seq for e in items] == list(range(items[0].seq, n))  # contiguous to the newest
    newest = items[-1].packet.pts
    horizon = newest - seconds
    keys = [e.packet.pts for e in items if e.packet.keyframe]
    # The first keyframe held is the latest one at or before the horizon (or the oldest
    # keyframe ever seen, when history is shorter than the window).
    if items[0].seq > 0:
        assert keys[0] <= horizon + 1e-9
    assert all(k > horizon for k in keys[1:])
    assert newest - items[0].packet.pts <= seconds + gop / 25.0 + 1e-9
    assert buf.nbytes == sum(len(e.packet.data) for e in items)


def test_byte_cap_drops_whole_gops_oldest_first() -> None:
    buf = PreBuffer(60.0, max_bytes=10_000)
    for i in range(200):
        buf.add(entry(i, gop=10, size=400))
        assert buf.nbytes <= 10_000
        assert next(iter(buf)).packet.keyframe
    seqs = [e.seq for e in buf]
    assert seqs[-1] == 199 and seqs[0] % 10 == 0
    assert len(seqs) >= 10_000 // 400 - 10  # at most one GOP short of the cap


def test_gop_bigger_than_cap_is_dropped_until_next_keyframe() -> None:
    buf = PreBuffer(60.0, max_bytes=1_000)
    for i in range(5):
        buf.add(entry(i, gop=8, size=300))
    assert len(buf) == 0 and buf.nbytes == 0  # the fourth packet broke the cap
    buf.add(entry(8, gop=8, size=300))
    assert [e.seq for e in buf] == [8]


def test_leading_non_keyframes_are_not_kept() -> None:
    buf = PreBuffer(1.0, 10**6)
    for i in range(3, 12):
        buf.add(entry(i, gop=5))
    assert [e.seq for e in buf] == list(range(5, 12))
    assert buf.dropped == 2
