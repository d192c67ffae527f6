"""Every kind of clip the device stores or shares, signed at capture, for checking each with
ONVIF's reference validator (opt-in) and with doorcam's verifier in strict mode (always).

Each maker returns the clips and the anchor certificate (the trust anchor the validator is
given) of the device that signed them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from capture.frame import StreamInfo
from capture.media.cut import cut_clip
from capture.media.fragments import salvage
from capture.media.mux import Mp4Writer
from config.schema import RecordingConfig
from tests.recording.helpers import traffic_packets
from tests.signing.helpers import device_signer, record_session
from uplink.desk.media_key import MediaKeyFiles

Made = tuple[list[Path], Path]  # the clips, the anchor certificate
REPO = Path(__file__).resolve().parents[2]

# A GOP is 25 frames; a clip runs 10 frames past its motion and starts up to 25 frames
# before it, on a keyframe. Clip A ends inside GOP 50-74 (sealed as a partial GOP) and clip B,
# starting at 50, holds that GOP signed in two parts; B ends with GOP 100-124 (sealed at the
# GOP's end) and clip C starts at 100.
SESSION_MOTION = ((30, 60), (80, 115), (135, 170))


def session(root: Path) -> Made:
    _, signer = device_signer(root)
    cfg = RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.4)
    clips = record_session(root, signer, 220,
                           lambda i: any(a <= i < b for a, b in SESSION_MOTION), cfg)
    return clips, _anchor(root)


def long_gops(root: Path) -> Made:
    """GOPs of 7 s at 25 fps in two slices a picture: 350 slices, more than the reference
    validator's hash list holds, so they are signed by their GOP hash alone."""
    _, signer = device_signer(root)
    cfg = RecordingConfig(keyframe_interval_seconds=7.0, pre_roll_seconds=7.0)
    clips = record_session(root, signer, 420, lambda i: 200 <= i < 380, cfg)
    return clips, _anchor(root)


def cuts(root: Path) -> Made:
    """A stored clip cut by the device to request windows: from a GOP boundary to the end,
    to a mid-GOP end, both."""
    clips, anchor = session(root / "session")
    src = clips[1]
    out = []
    for name, (a, b) in {"from-gop": (1.0, 9.0), "to-mid-gop": (0.0, 2.3),
                         "both": (1.0, 2.3)}.items():
        dest = root / f"cut-{name}.mp4"
        assert cut_clip(src, dest, a, b) is not None
        out.append(dest)
    return out, anchor


def salvaged(root: Path) -> Made:
    """A clip as the recorder writes it (fragmented), cut off by a power cut mid-fragment,
    then recovered."""
    clips, anchor = session(root / "session")
    packets, avcc = traffic_packets(clips[1])
    frag = root / "frag.mp4"
    w = Mp4Writer(frag, StreamInfo(320, 240, 25.0, "h264", extradata=avcc),
                  fragment_seconds=0.5)
    for p in packets:
        w.write(p)
    on_disk = frag.read_bytes()
    w.discard()
    frag.write_bytes(on_disk[:len(on_disk) * 3 // 4])
    dest = root / "salvaged.mp4"
    salvage(frag, dest)
    return [dest], anchor


def simulated(root: Path, source: Path, config: str = "") -> Made:
    """Clips `doorcam simulate` stores from a video file, with the given config."""
    cfg = root / "doorcam.toml"
    cfg.write_text(f'[store]\npath = "{root / "store"}"\n{config}')
    done = subprocess.run([sys.executable, "-m", "device.cli", "simulate", str(source),
                           "--config", str(cfg), "--quiet"], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stderr[-2000:]
    clips = sorted((root / "store" / "clips").glob("*.mp4"))
    assert clips, "the simulation stored no clip"
    return clips, root / "store" / "device_key.anchor.pem"


def traffic(root: Path, data: Path) -> Made:
    """A real camera's file: B-frames, 128-frame GOPs, the encoder's own SEIs (remuxed)."""
    return simulated(root, data / "dvrscan" / "traffic_camera.mp4")


def reencoded(root: Path, data: Path) -> Made:
    """Real footage behind a privacy mask, encoded with libx264 on the device."""
    return simulated(root, data / "wavingtrees" / "input",
                     "[privacy]\nmasks = [[[0.0, 0.0], [0.3, 0.0], [0.3, 0.2]]]\n")


def _anchor(root: Path) -> Path:
    return MediaKeyFiles.beside(root / "device_key.pem").anchor


KINDS: dict[str, Callable[..., Made]] = {
    "session clips (pre-roll overlap, a GOP signed in parts, a seal at a GOP's end)": session,
    "GOPs of more slices than a hash list holds": long_gops,
    "cut to a request's window": cuts,
    "recovered after a power cut": salvaged,
    "a real camera's file (B-frames, long GOPs, its own SEIs)": traffic,
    "real footage masked and encoded with libx264": reencoded,
}
NEEDS_FOOTAGE = {traffic, reencoded}
