"""What a frame source hands the rest of the device."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Packet:
    """One encoded H.264 access unit (Annex B or AVCC as the stream's extradata says)."""

    data: bytes
    pts: float  # media seconds from the start of the stream
    duration: float  # seconds
    keyframe: bool
    # Decode timestamp (s). Streams with B-frames have dts < pts and need it to be remuxed;
    # None means "same as pts" (no reordering, e.g. the Pi's encoder).
    dts: float | None = None


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """Shape of the source's full-resolution ("main") stream."""

    width: int
    height: int
    fps: float
    codec: str  # "h264" when the source delivers packets we can remux, else the decoder's name
    extradata: bytes = b""  # H.264 SPS/PPS (avcC) for remuxing; empty for Annex B
    frames: int | None = None  # total frames when known (files), for progress bars
    name: str = ""


class MainImage(Protocol):
    """The full-resolution picture, converted only when someone asks."""

    def to_bgr(self) -> np.ndarray: ...


@dataclass(slots=True)
class Frame:
    seq: int  # 0-based, source order
    pts: float  # media seconds from stream start (camera: seconds since start)
    mono: float  # time.monotonic() domain
    wall: float  # Unix time
    lores: np.ndarray  # HxW uint8 grayscale analysis image, C-contiguous
    main: MainImage
    # Encoded packets that the source produced with this frame (H.264 files, the Pi's
    # hardware encoder); empty when the device must encode `main` itself.
    packets: list[Packet] = field(default_factory=list)
    # True when the camera itself changed exposure/gain/IR on this frame (picamera2
    # metadata); tells the motion guard that a global change is not motion.
    exposure_changed: bool = False


class FrameSource(Protocol):
    """A camera, a file, or a generated scene. One thread owns it."""

    @property
    def info(self) -> StreamInfo: ...

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


class SourceError(Exception):
    """The source cannot be opened or read; the message is for the user, one line."""

