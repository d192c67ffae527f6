"""The motion thread's hand-off to the live thread: a bounded queue that drops, never waits.

The motion thread calls `offer` with each frame's packets (a few hundred bytes to a few
kilobytes, no copy); the live thread calls `step`, which publishes them. When the live
thread falls behind, the oldest items go (counted in `dropped`) and the publisher waits for
the next keyframe: the motion loop is never slowed by a viewer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from capture.frame import Frame, MainImage, Packet, StreamInfo
from capture.live.publisher import LivePublisher
from common.dropqueue import DropQueue

log = logging.getLogger(__name__)
QUEUE_FRAMES = 16


@dataclass(frozen=True, slots=True)
class _Item:
    info: StreamInfo
    packets: list[Packet]
    wall: float
    pts: float
    picture: MainImage | None  # only when a snapshot is due


class LiveFeed:
    """`offer` on the motion thread, `step` on the live thread (the publisher's owner)."""

    def __init__(self, publisher: LivePublisher, *, snapshot_seconds: float) -> None:
        self.publisher = publisher
        self.snapshot_seconds = snapshot_seconds
        self.snapshot_errors = 0
        self.bad_packets = 0
        self._q: DropQueue[_Item] = DropQueue(QUEUE_FRAMES)
        self._lost = threading.Event()
        self._next_snapshot = float("-inf")

    def packets(self, info: StreamInfo, frame: Frame, packets: list[Packet]) -> None:
        """The recorder's tap (motion thread): this frame's packets as the clips get them."""
        picture = None
        if frame.wall >= self._next_snapshot:
            self._next_snapshot = frame.wall + self.snapshot_seconds
            picture = frame.main
        if self._q.put(_Item(info, packets, frame.wall, frame.pts, picture)):
            self._lost.set()

    @property
    def dropped(self) -> int:
        """Frames the live thread had no time for."""
        return self._q.dropped

    def step(self, timeout: float) -> bool:
        """Publish one frame's packets (live thread); False when none came in `timeout`."""
        item = self._q.get(timeout)
        if item is None:
            return False
        pub = self.publisher
        if self._lost.is_set():
            self._lost.clear()
            pub.gap()
        pub.start(item.info)
        for p in item.packets:
            # A packet's capture time: its frame's, shifted by the pts difference.
            try:
                pub.add(p, item.wall + (p.pts - item.pts))
            except ValueError as e:  # not H.264 the publisher can frame: skip to a keyframe
                self.bad_packets += 1
                if self.bad_packets == 1:
                    log.warning("live view: a packet could not be published: %s", e)
                pub.gap()
        if item.picture is not None:
            try:
                pub.snapshot(item.picture)
            except Exception as e:  # a bad picture must not stop the video
                self.snapshot_errors += 1
                if self.snapshot_errors == 1:
                    log.warning("live snapshot failed: %s", e)
        return True

    def close(self) -> None:
        self.publisher.close()
