"""ONVIF Media Signing at capture: every H.264 slice hashed, each GOP signed in an SEI that
travels in the stream after it, a clip's last frames sealed as a partial GOP. The key is a
seam (`MediaSigner`) handed in by the device's wiring; the format lives in
`common.mediasign`."""

from capture.media.signing.seam import MediaSigner
from capture.media.signing.stream import StreamSigner, length_size_of

__all__ = ["MediaSigner", "StreamSigner", "length_size_of"]
