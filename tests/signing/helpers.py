"""Signed clips for the media signing tests, and ways to tamper with them."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from capture.frame import StreamInfo
from capture.media.h264 import H264Encoder
from capture.recording import Recorder
from common.mediasign.mp4 import h264_track
from common.mediasign.nal import join_length_prefixed, split_length_prefixed
from common.mediasign.sei import is_media_signing_sei
from config.schema import RecordingConfig
from tests.recording.helpers import DirSink, frame
from uplink.desk.media_key import DeviceMediaSigner, load_or_create_media_signer

GOP = 25  # 1 s keyframe interval at 25 fps


def device_signer(root: Path) -> tuple[Ed25519PrivateKey, DeviceMediaSigner]:
    key = Ed25519PrivateKey.generate()
    return key, load_or_create_media_signer(key, root / "device_key.pem", "porch-1", "test")


def record_signed_clip(root: Path, signer: DeviceMediaSigner, frames: int = 200) -> Path:
    """One clip of `frames` frames (8 GOPs for 200) recorded with signing."""
    clips = record_session(root, signer, frames, lambda i: 20 < i < frames - 50)
    assert len(clips) == 1
    return clips[0]


def record_session(root: Path, signer: DeviceMediaSigner, frames: int,
                   motion: Callable[[int], bool], cfg: RecordingConfig | None = None,
                   ) -> list[Path]:
    """The clips one signing session records from `frames` frames, in order."""
    cfg = cfg or RecordingConfig()
    sink = DirSink(root)
    rec = Recorder(cfg, StreamInfo(320, 240, 25.0, "rawvideo"),
                   sink, H264Encoder(cfg), signer=signer)
    for i in range(frames):
        rec.push(frame(i), motion=motion(i), score=1.0)
    rec.close()
    return [sink.committed[c][0] for c in sorted(sink.committed)]


def remux(src: Path, dst: Path, order: list[int]) -> Path:
    """A copy of `src` holding its samples in `order` (indexes), retimed to stay playable."""
    with av.open(str(src)) as inp:
        st = inp.streams.video[0]
        packets = [p for p in inp.demux(st) if p.size]
        step = 3600  # 1/25 s in 1/90000
        with av.open(str(dst), "w", format="mp4") as out:
            os_ = out.add_stream_from_template(st, opaque=True)
            for n, i in enumerate(order):
                p = av.Packet(bytes(packets[i]))
                p.pts = p.dts = n * step
                p.duration = step
                p.time_base = Fraction(1, 90000)
                p.is_keyframe = packets[i].is_keyframe
                p.stream = os_
                out.mux(p)
    return dst


def flip_byte(path: Path, sample: int) -> None:
    """Change one byte in the middle of a sample's last NAL unit, in place."""
    track = h264_track(path)
    off, size = track.offsets[sample], track.sizes[sample]
    with open(path, "r+b") as f:
        f.seek(off + size - 4)
        b = f.read(1)
        f.seek(off + size - 4)
        f.write(bytes([b[0] ^ 0x10]))


def unsigned_packets(path: Path) -> list[bytes]:
    """Every video packet of an MP4, without the ONVIF Media Signing SEIs the device adds
    (for comparing packets: ECDSA signatures differ from run to run)."""
    with av.open(str(path)) as c:
        return [join_length_prefixed([u for u in split_length_prefixed(bytes(p))
                                      if not is_media_signing_sei(u)])
                for p in c.demux(video=0) if p.size]
