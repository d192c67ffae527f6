"""The pre-roll: the last few seconds as encoded packets, always starting on a keyframe."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from capture.frame import Packet


@dataclass(frozen=True, slots=True)
class Entry:
    """A packet and the frame that delivered it (for the clip's seq and wall-clock times)."""

    packet: Packet
    seq: int
    pts: float  # the delivering frame's pts
    wall: float  # the delivering frame's wall clock


class PreBuffer:
    """Packets covering at least `seconds` before the newest one, from a keyframe.

    Kept from the latest keyframe at or before (newest − seconds), so a clip opened from it
    starts at most `seconds` + one keyframe interval early. Over `max_bytes` whole GOPs go
    oldest first; a single GOP larger than the cap is dropped entirely, since packets
    without their keyframe are useless. Amortised O(1) per packet.
    """

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.dropped = 0  # packets thrown away for want of a keyframe or room
        self._items: deque[Entry] = deque()
        self._keys: deque[float] = deque()  # pts of the keyframes held, oldest first

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._items)

    def add(self, entry: Entry) -> None:
        p = entry.packet
        if not self._items and not p.keyframe:
            self.dropped += 1
            return
        self._items.append(entry)
        self.nbytes += len(p.data)
        if p.keyframe:
            self._keys.append(p.pts)
        horizon = _time(p) - self.seconds
        while len(self._keys) >= 2 and self._keys[1] <= horizon:
            self._drop_gop()
        while self.nbytes > self.max_bytes and self._items:
            self._drop_gop()

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0
        self._keys.clear()

    @property
    def span(self) -> float:
        """Seconds from the first packet held to the newest."""
        if not self._items:
            return 0.0
        return _time(self._items[-1].packet) - self._items[0].packet.pts

    def _drop_gop(self) -> None:
        """Drop the head keyframe and everything up to the next keyframe."""
        items = self._items
        first = True
        while items and (first or not items[0].packet.keyframe):
            e = items.popleft()
            self.nbytes -= len(e.packet.data)
            if e.packet.keyframe:
                self._keys.popleft()
            self.dropped += 1
            first = False


def _time(p: Packet) -> float:
    return p.pts if p.dts is None else p.dts
