"""The PyAV wrapper: the only package that imports av. `encoder_for` picks the encoder."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capture.frame import StreamInfo
    from capture.media.encode import Encoder
    from config.schema import RecordingConfig


def encoder_for(info: StreamInfo, cfg: RecordingConfig) -> Encoder:
    """Remux when the source already delivers H.264 packets, else encode with libx264.

    A source whose pictures are privacy-masked after decoding (capture.privacy.MaskedSource)
    reports codec "rawvideo": its packets show what the mask hides, so they are re-encoded.
    """
    if info.codec == "h264":
        from capture.media.passthrough import PassthroughEncoder

        return PassthroughEncoder()
    from capture.media.h264 import H264Encoder  # loads libav only when it is needed

    return H264Encoder(cfg)
