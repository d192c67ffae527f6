"""What the request desk needs from the clip store (implemented by `device/`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from uplink.protocol.evidence import ClockStatement


@dataclass(frozen=True)
class ClipInfo:
    id: str
    start_wall: float
    end_wall: float
    size: int
    sha256: str
    clock: ClockStatement | None = None  # the device's clock when it was recorded
    offerable: bool = True  # may be offered to agencies (see `ClipCatalog.overlapping`)


class ClipCatalog(Protocol):
    def overlapping(self, start: float, end: float) -> list[ClipInfo]:
        """Clips that may be offered whose [start_wall, end_wall] overlaps [start, end].

        Never a clip whose times cannot be trusted (recorded before the system clock was
        synchronised), nor a simulated one (a synthetic scene or a file) unless the device
        is set up for a demo.
        """
        ...

    def get(self, clip_id: str) -> ClipInfo | None:
        """Any clip in the store, offerable or not (`ClipInfo.offerable` says)."""
        ...

    def set_held(self, clip_id: str, held: bool) -> None: ...

    def path(self, clip_id: str) -> Path: ...


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    latitude: float
    longitude: float
