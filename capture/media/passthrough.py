"""The remux path: the source's own H.264 packets go into the clip untouched."""

from __future__ import annotations

from capture.frame import Frame, Packet, StreamInfo
from capture.media.encode import EncodeError, Encoder


class PassthroughEncoder(Encoder):
    """Returns `frame.packets` unchanged (no re-encode); the source must be H.264."""

    def _start(self, info: StreamInfo) -> StreamInfo:
        if info.codec != "h264":
            raise EncodeError(
                f"source codec {info.codec!r} has no H.264 packets to remux; use H264Encoder")
        return info

    def _encode(self, frame: Frame) -> list[Packet]:
        return frame.packets

    def _stop(self) -> list[Packet]:
        return []
