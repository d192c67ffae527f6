"""What the request desk needs from the clip store (implemented by `device/`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ClipInfo:
    id: str
    start_wall: float
    end_wall: float
    size: int
    sha256: str


class ClipCatalog(Protocol):
    def overlapping(self, start: float, end: float) -> list[ClipInfo]:
        """Clips whose [start_wall, end_wall] overlaps [start, end]."""
        ...

    def get(self, clip_id: str) -> ClipInfo | None: ...

    def set_held(self, clip_id: str, held: bool) -> None: ...

    def path(self, clip_id: str) -> Path: ...


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    latitude: float
    longitude: float
