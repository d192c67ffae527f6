"""An encoder whose packets come out signed: wraps the remux or libx264 encoder."""

from __future__ import annotations

from capture.frame import Frame, Packet, StreamInfo
from capture.media.encode import Encoder
from capture.media.signing.seam import MediaSigner
from capture.media.signing.stream import StreamSigner, length_size_of


class SigningEncoder(Encoder):
    """`inner`'s packets with ONVIF Media Signing SEIs; a new signing session per start."""

    def __init__(self, inner: Encoder, signer: MediaSigner) -> None:
        super().__init__()
        self.inner = inner
        self._signer = signer
        self.stream: StreamSigner | None = None
        self._last_wall = 0.0

    def _start(self, info: StreamInfo) -> StreamInfo:
        out = self.inner.output_info if self.inner.running else self.inner.start(info)
        self.stream = StreamSigner(self._signer, length_size_of(out.extradata))
        return out

    def _encode(self, frame: Frame) -> list[Packet]:
        self._last_wall = frame.wall
        # A packet's capture time: its frame's wall clock, shifted by the pts difference.
        return [self._sign(p, frame.wall + (p.pts - frame.pts)) for p in self.inner.encode(frame)]

    def _stop(self) -> list[Packet]:
        return [self._sign(p, self._last_wall) for p in self.inner.stop()]

    def _sign(self, packet: Packet, wall: float) -> Packet:
        assert self.stream is not None
        return self.stream.sign(packet, wall)
