"""Writes the clips of tests/recording/test_pyav_floor.py with whichever PyAV is imported:
run as a script under the oldest supported PyAV, called in-process under the current one.

    python -m tests.recording.floor_writer OUT_DIR KEY_DIR TRAFFIC_MP4   (prints a JSON report)

Every file goes through the product's own code: a signed recording (libx264, fragmented
writer, standard MP4 on close), a signed remux of real footage (avcC, B-frames), the
decodable prefix of a clip torn mid-fragment, and GOP cuts of both recordings.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import av
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from capture.frame import StreamInfo
from capture.media.cut import cut_clip
from capture.media.fragments import salvage
from capture.media.mux import Mp4Writer
from capture.media.signing import StreamSigner
from capture.media.signing.stream import length_size_of
from tests.recording.helpers import traffic_packets
from tests.signing.helpers import record_signed_clip
from uplink.desk.media_key import load_or_create_media_signer

DEVICE_KEY = "device_key.pem"
# Seconds from the first frame; the real footage has a keyframe every 5.12 s.
RECORDING_CUT = (2.3, 5.5)
TRAFFIC_CUT = (11.0, 16.0)
TORN_FRAMES = 200  # packets written before the cut, then the file loses its last 1000 bytes


def write_all(out: Path, keys: Path, traffic_mp4: Path) -> dict[str, Any]:
    device_key = serialization.load_pem_private_key((keys / DEVICE_KEY).read_bytes(), None)
    assert isinstance(device_key, Ed25519PrivateKey)
    signer = load_or_create_media_signer(device_key, keys / DEVICE_KEY, "porch-1", "test")
    report: dict[str, Any] = {"av": av.__version__}

    (out / "rec").mkdir()
    rec = record_signed_clip(out / "rec", signer).rename(out / "rec.mp4")
    span = cut_clip(rec, out / "rec-cut.mp4", *RECORDING_CUT)
    report["rec_cut"] = None if span is None else [span.start_s, span.end_s]

    packets, avcc = traffic_packets(traffic_mp4)
    info = StreamInfo(1280, 720, 25.0, "h264", extradata=avcc)
    stream = StreamSigner(signer, length_size_of(avcc))
    signed = [stream.sign(p, 1_700_000_000.0 + p.pts) for p in packets]
    w = Mp4Writer(out / "traffic.mp4", info, fragment_seconds=1.0)
    for p in signed:
        w.write(p)
    report["traffic_close"] = list(w.close())
    report["traffic_syncs"] = w.syncs
    span = cut_clip(out / "traffic.mp4", out / "traffic-cut.mp4", *TRAFFIC_CUT)
    report["traffic_cut"] = None if span is None else [span.start_s, span.end_s]

    w = Mp4Writer(out / "torn-src.mp4", info, fragment_seconds=1.0)
    for p in signed[:TORN_FRAMES]:
        w.write(p)
    torn = (out / "torn-src.mp4").read_bytes()
    w.discard()
    (out / "torn.mp4").write_bytes(torn[:-1000])
    s = salvage(out / "torn.mp4", out / "salvaged.mp4")
    report["salvaged"] = [s.frames, s.prefix.fragments, s.thumbnail_decoded]
    return report


if __name__ == "__main__":
    print(json.dumps(write_all(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))))
