"""ONVIF Media Signing at capture: every H.264 slice hashed, each GOP signed in an SEI put
in front of the next GOP's first slice. The key is a seam (`MediaSigner`) handed in by the
device's wiring; the format lives in `common.mediasign`."""

from capture.media.signing.encoder import SigningEncoder
from capture.media.signing.seam import MediaSigner
from capture.media.signing.stream import StreamSigner

__all__ = ["MediaSigner", "SigningEncoder", "StreamSigner"]
